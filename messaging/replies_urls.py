from __future__ import annotations

from django.urls import path

from messaging import replies_api

urlpatterns = [
    path("replies", replies_api.RepliesApi.as_view(), name="replies"),
]
