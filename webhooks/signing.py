"""Signing outgoing webhooks (and the custom-webhook fallback).

`X-Tuco-Signature-256: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + raw body>`, keyed with the
endpoint's secret (Stripe's scheme): the time of the try is signed with the body, so a receiver that
checks `t` against its clock (docs/webhooks.md: 5 minutes) cannot be fed a recorded request later.
`X-Tuco-Signature` (HMAC of the body alone, no time) is still sent for one release, deprecated.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from typing import Any

from tuco.timefmt import parse_iso

SIGNATURE_256_HEADER = "X-Tuco-Signature-256"
SIGNATURE_HEADER = "X-Tuco-Signature"  # deprecated: the body alone, replayable; removed in the next release
SIGNATURE_HEADERS = (SIGNATURE_256_HEADER, SIGNATURE_HEADER)
REPLAY_WINDOW_SECONDS = 300  # what docs/webhooks.md tells receivers to accept
EVENT_HEADER = "X-Tuco-Event"
TIMESTAMP_HEADER = "X-Tuco-Timestamp"
EVENT_ID_HEADER = "X-Tuco-Event-Id"


def new_secret() -> str:
    return "whsec_" + secrets.token_hex(24)


def encode_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent and signed (compact, UTF-8, stable key order as built)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, body), signature or "")


def sign_256(secret: str, body: bytes, unix_time: int) -> str:
    """The X-Tuco-Signature-256 value for a try at `unix_time`."""
    digest = hmac.new(secret.encode(), str(unix_time).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={unix_time},v1={digest}"


def verify_256(secret: str, body: bytes, header: str, *, tolerance: int = REPLAY_WINDOW_SECONDS,
               now: float | None = None) -> bool:
    """A receiver's check (the reference for docs/webhooks.md): some v1 matches and t is within tolerance."""
    fields = [part.split("=", 1) for part in (header or "").split(",") if "=" in part]
    stamps = [value for key, value in fields if key.strip() == "t"]
    if len(stamps) != 1 or not stamps[0].strip().isdigit():
        return False
    unix_time = int(stamps[0])
    if abs((time.time() if now is None else now) - unix_time) > tolerance:
        return False
    expected = sign_256(secret, body, unix_time).split(",v1=", 1)[1]
    return any(hmac.compare_digest(expected, value.strip()) for key, value in fields if key.strip() == "v1")


def signed_headers(*, secret: str, body: bytes, event: str, timestamp: str, event_id: str) -> dict[str, str]:
    sent_at = parse_iso(timestamp)  # the try's time: X-Tuco-Timestamp and t= name the same second
    unix_time = int(sent_at.timestamp()) if sent_at else int(time.time())
    return {
        "Content-Type": "application/json",
        SIGNATURE_256_HEADER: sign_256(secret, body, unix_time),
        SIGNATURE_HEADER: sign(secret, body),
        EVENT_HEADER: event,
        TIMESTAMP_HEADER: timestamp,
        EVENT_ID_HEADER: event_id,
        "User-Agent": "Tuco-Webhooks/1.0",
    }
