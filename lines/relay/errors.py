"""How a relay call failed decides what happens next.

- PERMANENT: the relay refused us (bad password): mark the line unhealthy, do not retry blindly.
- REJECTED: the request itself is invalid for the relay (400 validation): the message fails.
- IN_FLIGHT: BlueBubbles says this tempGuid is already being sent: verify later.
- UNKNOWN: timeout, dropped connection or 5xx: the message may have been sent. Verify first.
- NOT_SENT: the connection was never established: certainly not sent, safe to retry.
"""

from __future__ import annotations

from enum import StrEnum


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
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.body = body[:500]

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}" + (f" (HTTP {self.status})" if self.status else "")
