"""Signing outgoing webhooks (and the custom-webhook fallback): X-Tuco-Signature.

The signature is the hex HMAC-SHA256 of the exact raw request body, keyed with
the endpoint's secret. A receiver verifies with only the secret:
`hmac.compare_digest(hmac.new(secret, raw_body, sha256).hexdigest(), header)`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Any

SIGNATURE_HEADER = "X-Tuco-Signature"
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


def signed_headers(*, secret: str, body: bytes, event: str, timestamp: str, event_id: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(secret, body),
        EVENT_HEADER: event,
        TIMESTAMP_HEADER: timestamp,
        EVENT_ID_HEADER: event_id,
        "User-Agent": "Tuco-Webhooks/1.0",
    }
