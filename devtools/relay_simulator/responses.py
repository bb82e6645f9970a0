"""BlueBubbles response envelopes and error bodies (reference §2), byte-for-byte in shape.

Success: {"status","message","data"?,"metadata"?}; errors: {"status","message","error":{"type","message"},"data"?}.
`data` is left out when undefined (JS drops undefined keys) but kept when explicitly null, which
is how a client tells the #801 "sent but timed out" body (`"data": null`) from a plain failure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

_UNSET: Any = object()

JSON_TYPE = "application/json; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"


@dataclass
class Response:
    status: int
    payload: Any = None  # JSON-serialisable; ignored when `raw` is set
    raw: bytes | None = None
    content_type: str = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)

    def body(self, *, pretty: bool = False) -> bytes:
        if self.raw is not None:
            return self.raw
        if pretty:
            return json.dumps(self.payload, indent=2, ensure_ascii=False).encode()
        return json.dumps(self.payload, separators=(",", ":"), ensure_ascii=False).encode()


def json_response(status: int, payload: Any) -> Response:
    return Response(status=status, payload=payload)


def success(data: Any = _UNSET, *, message: str = "Success", metadata: Any = _UNSET) -> Response:
    body: dict[str, Any] = {"status": 200, "message": message}
    if data is not _UNSET:
        body["data"] = data
    if metadata is not _UNSET:
        body["metadata"] = metadata
    return Response(200, body)


def error(status: int, message: str, etype: str, detail: str, data: Any = _UNSET) -> Response:
    body: dict[str, Any] = {"status": status, "message": message, "error": {"type": etype, "message": detail}}
    if data is not _UNSET:
        body["data"] = data
    return Response(status, body)


def bad_request(detail: str) -> Response:
    return error(
        400,
        "You've made a bad request! Please check your request params & body",
        "Validation Error",
        detail,
    )


def unauthorized(detail: str = "Unauthorized") -> Response:
    return error(401, "You are not authorized to access this resource", "Authentication Error", detail)


def not_found(detail: str) -> Response:
    return error(404, "The requested resource was not found", "Database Error", detail)


def unhandled(detail: str) -> Response:
    """What Koa's ErrorMiddleware makes of any plain `throw new Error(...)`."""
    return error(500, "An unhandled error has occurred!", "Server Error", detail)


def imessage_error(message: str, detail: str, data: Any = _UNSET) -> Response:
    return error(500, message, "iMessage Error", detail, data)


def private_api_gate() -> Response:
    return imessage_error(
        "Please make sure you have completed the setup for the Private API, and your helper is connected!",
        "iMessage Private API is not enabled!",
    )


def koa_not_found() -> Response:
    """Unknown path: Koa's default body, not the JSON envelope."""
    return Response(404, raw=b"Not Found", content_type=TEXT_TYPE)


def koa_method_not_allowed(allowed: list[str]) -> Response:
    return Response(
        405, raw=b"Method Not Allowed", content_type=TEXT_TYPE, headers={"Allow": ", ".join(sorted(allowed))}
    )


def sim_error(status: int, detail: str) -> Response:
    """Control API (/sim/v1) errors use a plain {"error"} shape; they are not BlueBubbles'."""
    return Response(status, {"error": detail})
