from __future__ import annotations

from django.urls import path

from lines import api

urlpatterns = [
    path("lines/by-user", api.LinesByUserApi.as_view(), name="lines-by-user"),
]
