"""How a relay call failed decides what happens next.

- PERMANENT: the relay refused us (bad password): mark the line unhealthy, do not retry blindly.
- REJECTED: the request itself is invalid for the relay (400 validation): the message fails.
- IN_FLIGHT: BlueBubbles says this tempGuid is already being sent: verify later.
- UNKNOWN: timeout, dropped connection or 5xx: the message may have been sent. Verify first.
- NOT_SENT: the connection was never established: certainly not sent, safe to retry.
"""

from __future__ import annotations

import re
from enum import StrEnum

# BlueBubbles reads its password from the query string, and requests' errors quote the URL.
_SECRET_PARAM = re.compile(r"((?:password|guid|token)(?:=|%3D))[^&\s'\")]+", re.IGNORECASE)


def redact(text: str) -> str:
    """Remove relay credentials from text that may end up in logs, rows or API responses."""
    return _SECRET_PARAM.sub(r"\1***", text or "")


class RelayErrorKind(StrEnum):
    PERMANENT = "permanent"
    REJECTED = "rejected"
    IN_FLIGHT = "in_flight"
    UNKNOWN = "unknown"
    NOT_SENT = "not_sent"
    PRIVATE_API = "private_api"


class RelayError(Exception):
    def __init__(self, kind: RelayErrorKind, message: str, *, status: int | None = None,
                 body: str = "") -> None:
        message = redact(message)
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.body = redact(body[:500])

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}" + (f" (HTTP {self.status})" if self.status else "")
