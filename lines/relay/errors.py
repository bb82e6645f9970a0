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

from tuco.send_errors import SendError

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


# What each kind means for the message (tuco.send_errors): the line's fault, permanent, or maybe sent.
_LINE_FAULTS = (RelayErrorKind.PERMANENT, RelayErrorKind.PRIVATE_API, RelayErrorKind.NOT_SENT)
_MAYBE_SENT = (RelayErrorKind.UNKNOWN, RelayErrorKind.IN_FLIGHT)


def relay_error(kind: RelayErrorKind, message: str, *, status: int | None = None, body: str = "") -> SendError:
    """A relay call failed: the one SendError, classified from the relay's kind, credentials redacted."""
    return SendError(redact(message), f"RELAY_{kind.upper()}", kind == RelayErrorKind.REJECTED,
                     maybe_sent=kind in _MAYBE_SENT, line_fault=kind in _LINE_FAULTS, response_code=status,
                     kind=kind, body=redact(body[:500]))


_LINE_FAULT_REASONS = {RelayErrorKind.PERMANENT: "relay refused the password",
                       RelayErrorKind.PRIVATE_API: "Private API helper is not connected",
                       RelayErrorKind.NOT_SENT: "relay unreachable"}


def line_fault_detail(error: SendError) -> str:
    """What the line's health says after this relay fault (`relay unreachable: …`)."""
    reason = _LINE_FAULT_REASONS.get(RelayErrorKind(error.kind), error.kind) if error.kind else "relay fault"
    return (error.message if error.message.startswith(reason) else f"{reason}: {error.message}")[:500]
