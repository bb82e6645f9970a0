"""GET /metrics: Prometheus exposition of this web process's metrics and the database-derived gauges.

Protected by `Authorization: Bearer <TUCO_METRICS_TOKEN>` (401 `{"error": "Unauthorized"}` otherwise); without
a token configured the route answers 404, as if it did not exist. A token rather than an internal port: web
runs under gunicorn on one port behind the load balancer, and a second listener per gunicorn worker would
need its own bind and process model; block /metrics at the public proxy as well (docs/deployment.md).
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

from messaging.metrics import DatabaseCollector
from tuco.metrics import token_ok

_database = CollectorRegistry(auto_describe=False)
_database.register(DatabaseCollector())


@require_safe
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not settings.TUCO_METRICS_TOKEN:
        raise Http404("metrics are off")
    if not token_ok(request.headers.get("Authorization")):
        response = JsonResponse({"error": "Unauthorized"}, status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(REGISTRY) + generate_latest(_database), content_type=CONTENT_TYPE_LATEST)
