"""The project URLconf plus /api/replies, until tuco.urls includes messaging.replies_urls."""

from __future__ import annotations

from django.urls import include, path

from tuco.urls import handler404, handler500
from tuco.urls import urlpatterns as project_urlpatterns

__all__ = ["handler404", "handler500", "urlpatterns"]

urlpatterns = [path("api/", include("messaging.replies_urls")), *project_urlpatterns]
