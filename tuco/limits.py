"""Request body limits on /api/ and /hooks/: an oversized body is a JSON 413 before anything reads it.

Django enforces DATA_UPLOAD_MAX_MEMORY_SIZE (1 MB) only when a view reads the body,
and answers with its HTML 400 page (or, under DRF, an exception). This middleware
refuses a declared Content-Length over the limit up front, in the API's
`{"error", "code"}` shape, and gives the same shape to Django's body refusals raised
inside the non-DRF views (the relay and Twilio webhooks). DRF views are covered by
tuco.errors.exception_handler even without it.

multipart/form-data is left to the upload endpoints: Django does not count file
parts against the limit, and POST /api/uploads and /api/leads/import enforce their
own (25 MB, 10 MB) with their own error codes.

Install right after CorrelationIdMiddleware (so the 413 carries X-Correlation-Id):
    "tuco.limits.BodyLimitMiddleware",
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from tuco.errors import body_too_large_error, request_error
from tuco.logging import get_logger
from tuco.schema_fields import document_error_response

log = get_logger(__name__)

GUARDED_PREFIXES = ("/api/", "/hooks/")
INBOUND_EMAIL_PREFIX = "/hooks/email/"  # raw emails with attachments: their own, larger limit


def body_limit_for(path: str) -> int | None:
    if path.startswith(INBOUND_EMAIL_PREFIX):
        return int(settings.TUCO_INBOUND_EMAIL_MAX_BYTES)
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class BodyLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = body_limit_for(request.path)
        if (limit is not None and request.path.startswith(GUARDED_PREFIXES)
                and not (request.content_type or "").startswith("multipart/")
                and _declared_length(request) > limit):
            log.info("request.body_too_large", path=request.path, contentLength=_declared_length(request))
            error = body_too_large_error(limit)
            return JsonResponse(error.body(), status=error.status)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not request.path.startswith(GUARDED_PREFIXES):
            return None
        error = request_error(exception, body_limit=body_limit_for(request.path))
        if error is None:
            return None
        return JsonResponse(error.body(), status=error.status)


def document_body_limit(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: every operation that takes a body can answer this middleware's 413
    (`PAYLOAD_TOO_LARGE`), so /api/schema says so (operations documenting a 413 of their own keep theirs)."""
    document_error_response(result, "413", lambda operation: "requestBody" in operation)
    return result
