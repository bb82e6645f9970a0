from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from messaging.metrics_api import metrics_view
from tuco import health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    path("api/schema", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("api/", include("messaging.urls")),
    path("api/", include("leads.urls")),
    path("api/", include("lines.urls")),
    path("api/", include("fallback.urls")),
    path("api/", include("webhooks.urls")),
    path("api/", include("messaging.replies_urls")),
    path("api/", include("campaigns.urls")),
    path("", include("messaging.attachments.urls")),
    path("hooks/", include("messaging.inbound.urls")),
    path("metrics", metrics_view, name="metrics"),
]


def json_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse({"error": "Not found"}, status=404)


def json_server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"error": "Internal server error"}, status=500)


handler404 = json_not_found
handler500 = json_server_error
