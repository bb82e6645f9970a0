from __future__ import annotations

from django.urls import path

from lines import api, availability_api

urlpatterns = [
    path("lines/by-user", api.LinesByUserApi.as_view(), name="lines-by-user"),
    path("check-availability-rr", availability_api.CheckAvailabilityRoundRobinApi.as_view(),
         name="check-availability-rr"),
    path("leads/check-availability", availability_api.LeadCheckAvailabilityApi.as_view(),
         name="leads-check-availability"),
]
