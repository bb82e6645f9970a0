"""Domain errors and the one exception handler that shapes every 4xx/5xx.

Every error body is `{"error": <human text>, "code"?: <MACHINE_CODE>, ...extra}`
(spec errors-and-rate-limits.txt). Services raise `ApiError` subclasses; views
never build error responses themselves.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import Http404, UnreadablePostError
from rest_framework import exceptions as drf
from rest_framework.response import Response

from tuco.logging import get_logger

log = get_logger(__name__)


class ApiError(Exception):
    status = 400
    default_code: str | None = None

    def __init__(self, error: str, *, code: str | None = None, status: int | None = None,
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.code = code if code is not None else self.default_code
        if status is not None:
            self.status = status
        self.headers = headers or {}
        self.extra = extra

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.error}
        if self.code:
            body["code"] = self.code
        body.update(self.extra)
        return body


class BadRequest(ApiError):
    status = 400


class NotFound(ApiError):
    status = 404


class Forbidden(ApiError):
    status = 403


class Conflict(ApiError):
    status = 409


class RateLimited(ApiError):
    status = 429
    default_code = "RATE_LIMITED"


def _first_validation_message(detail: Any, prefix: str = "") -> str:
    """Flatten DRF's nested validation detail into one readable sentence."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            field = "" if key in ("non_field_errors",) else str(key)
            name = f"{prefix}.{field}" if prefix and field else (field or prefix)
            return _first_validation_message(value, name)
    if isinstance(detail, list) and detail:
        return _first_validation_message(detail[0], prefix)
    text = str(detail)
    return f"{prefix}: {text}" if prefix else text


def body_too_large_error(limit: int | None = None) -> ApiError:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE if limit is None else limit
    size = f"{limit // (1024 * 1024)} MB" if limit and limit % (1024 * 1024) == 0 else f"{limit} bytes"
    return ApiError(f"Request body too large: the limit is {size}", code="PAYLOAD_TOO_LARGE", status=413)


def request_error(exc: Exception, *, body_limit: int | None = None) -> ApiError | None:
    """Django's own refusals of a request body (raised when the view reads it) as API errors, else None.

    Django would turn these into its HTML 400 page; under DRF they would be a 500.
    """
    if isinstance(exc, RequestDataTooBig):
        return body_too_large_error(body_limit)
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return BadRequest("Too many form fields or files in the request", code="TOO_MANY_FIELDS")
    if isinstance(exc, UnreadablePostError):
        return BadRequest("The request body could not be read", code="INVALID_BODY")
    if isinstance(exc, SuspiciousOperation):
        return BadRequest("Bad request", code="BAD_REQUEST")
    return None


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApiError):
        return Response(exc.body(), status=exc.status, headers=exc.headers)
    refused = request_error(exc)
    if refused is not None:
        return Response(refused.body(), status=refused.status)
    if isinstance(exc, Http404):
        return Response({"error": "Not found"}, status=404)
    if isinstance(exc, PermissionDenied):
        return Response({"error": "Forbidden"}, status=403)
    if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
        return Response({"error": "Unauthorized"}, status=401, headers={"WWW-Authenticate": "Bearer"})
    if isinstance(exc, drf.ParseError):
        return Response({"error": f"Invalid JSON body: {exc.detail}", "code": "INVALID_JSON"}, status=400)
    if isinstance(exc, drf.UnsupportedMediaType):
        return Response({"error": str(exc.detail), "code": "UNSUPPORTED_MEDIA_TYPE"}, status=415)
    if isinstance(exc, drf.ValidationError):
        return Response({"error": _first_validation_message(exc.detail), "code": "VALIDATION_ERROR"}, status=400)
    if isinstance(exc, drf.Throttled):
        wait = int(exc.wait or 1)
        return Response({"error": "Rate limit exceeded", "code": "RATE_LIMITED"}, status=429,
                        headers={"Retry-After": str(wait)})
    if isinstance(exc, drf.MethodNotAllowed):
        return Response({"error": str(exc.detail), "code": "METHOD_NOT_ALLOWED"}, status=405)
    if isinstance(exc, drf.NotAcceptable):
        return Response({"error": str(exc.detail), "code": "NOT_ACCEPTABLE"}, status=406)
    if isinstance(exc, drf.PermissionDenied):
        return Response({"error": str(exc.detail)}, status=403)
    if isinstance(exc, drf.NotFound):
        return Response({"error": "Not found"}, status=404)
    if isinstance(exc, drf.APIException):
        return Response({"error": str(exc.detail)}, status=exc.status_code)
    log.exception("api.unhandled_error", error=str(exc))
    return Response({"error": "Internal server error"}, status=500)
