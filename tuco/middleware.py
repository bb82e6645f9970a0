"""Every request carries a correlation id: the caller's `x-correlation-id`, or one we make."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from tuco.logging import bind_context, clear_context

MAX_CORRELATION_ID = 200


def generate_correlation_id() -> str:
    return "app_" + secrets.token_hex(8)


class CorrelationIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        clear_context()
        header = (request.headers.get("x-correlation-id") or "").strip()[:MAX_CORRELATION_ID]
        # `correlation_id_from_header` lets the send API prefer the header over the body field.
        request.correlation_id_from_header = bool(header)  # type: ignore[attr-defined]
        request.correlation_id = header or generate_correlation_id()  # type: ignore[attr-defined]
        bind_context(correlationId=request.correlation_id)
        response = self.get_response(request)
        response["X-Correlation-Id"] = request.correlation_id  # type: ignore[attr-defined]
        return response
