"""GET /api/messages/export: the filtered messages as a streamed CSV or NDJSON download. Thin: filters →
messaging.exports (keyset batches) → StreamingHttpResponse. The admin's export action answers the same way."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.request import Request
from rest_framework.views import APIView

from messaging import schemas
from messaging.exports import CONTENT_TYPES, FORMATS, export_format, export_stream
from messaging.models import Message
from messaging.selectors import messages_filtered
from tuco.auth import workspace_of
from tuco.errors import BadRequest
from tuco.logging import get_logger
from tuco.throttles import RateLimitedMixin

log = get_logger(__name__)

INVALID_FORMAT = "Invalid format: use csv or ndjson"


class JsonErrorsNegotiation(BaseContentNegotiation):
    """The export picks CSV or NDJSON itself (`export_format`). DRF's own negotiation would answer
    `?format=ndjson` with a 404 (no renderer of that name) and render errors in the download's type:
    here errors are always the API's JSON `{"error", "code"}`."""

    def select_parser(self, request: Request, parsers: list[Any]) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(self, request: Request, renderers: list[Any], format_suffix: str | None = None) -> Any:
        return renderers[0], renderers[0].media_type


def export_response(queryset: QuerySet[Message], fmt: str, *, name: str, **log_context: Any) -> StreamingHttpResponse:
    """Stream `queryset` as a download named `<name>-<UTC timestamp>.<fmt>`."""
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response = StreamingHttpResponse(_logged(export_stream(queryset, fmt), fmt=fmt, **log_context),
                                     content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.{fmt}"'
    response["Cache-Control"] = "no-store"
    response["X-Accel-Buffering"] = "no"  # nginx: pass the chunks on as they come
    return response


def _logged(chunks: Iterator[str], **context: Any) -> Iterator[bytes]:
    started, size = time.monotonic(), 0
    log.info("message.export.started", **context)
    for chunk in chunks:
        data = chunk.encode()
        size += len(data)
        yield data
    log.info("message.export.finished", bytes=size, seconds=round(time.monotonic() - started, 3), **context)


EXPORT_PARAMETERS = [
    OpenApiParameter("format", str, enum=list(FORMATS),
                     description="csv (default) or ndjson; without it, `Accept: application/x-ndjson` asks for NDJSON"),
    *[p for p in schemas.LIST_PARAMETERS if p.name not in ("cursor", "limit")],
]


class MessageExportApi(RateLimitedMixin, APIView):
    rate_group = "export"
    rate_methods = ("GET",)
    content_negotiation_class = JsonErrorsNegotiation

    @extend_schema(
        operation_id="messages_export", parameters=EXPORT_PARAMETERS,
        responses={(200, "text/csv"): OpenApiTypes.STR, (200, "application/x-ndjson"): OpenApiTypes.STR,
                   400: schemas.Error, 401: schemas.Error, 429: schemas.Error},
        summary="Export the filtered messages as CSV or NDJSON (streamed)",
        description="The messages GET /api/messages would list with the same filters (cursor and limit do not "
                    "apply: every matching message), newest first, streamed: a header line and one row per "
                    "message (CSV), or one JSON object per line (NDJSON). Columns: the message document's "
                    "fields plus `sentText` (the personalized text sent), the delivery timestamps (`sentAt`, "
                    "`deliveredAt`, `readAt`, `fallbackSentAt`, `fallbackDeliveredAt`), `attemptCount`, the "
                    "fallback outcome (`reason`, `fallbackSmsStatus`, `fallbackProvider`, `fallbackError`) "
                    "and `campaignId` / `stepIndex` (empty for messages outside a campaign). A CSV cell that "
                    "a spreadsheet would run as a formula is prefixed with `'`. 10 requests per minute per "
                    "workspace.",
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        workspace = workspace_of(request)
        fmt = export_format(request.query_params.get("format"), request.headers.get("accept", ""))
        if fmt is None:
            raise BadRequest(INVALID_FORMAT, code="INVALID_FORMAT")
        queryset = messages_filtered(workspace=workspace, params=request.query_params)  # 400s before streaming
        return export_response(queryset, fmt, name="messages", via="api", workspaceId=workspace.pk)

