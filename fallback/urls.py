from __future__ import annotations

from django.urls import path

from fallback import api

urlpatterns = [
    path("workspace/fallback-config", api.FallbackConfigApi.as_view(), name="fallback-config"),
]
