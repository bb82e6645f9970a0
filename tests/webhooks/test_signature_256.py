"""X-Tuco-Signature-256: `t=<unix>,v1=<hex HMAC-SHA256 of "t." + body>`, checked by a receiver that
knows only the secret and its clock; the deprecated body-only X-Tuco-Signature is still sent."""

from __future__ import annotations

import hashlib
import hmac
import re
import time

import pytest

from fallback.providers.base import SendContext
from fallback.providers.webhook import WebhookProvider
from tests.fallback.receivers import http_receiver
from tests.webhooks.conftest import events_of, mark_sent, sending_message
from tuco.timefmt import parse_iso
from webhooks.signing import verify_256
from webhooks.tasks import deliver_webhook_event

pytestmark = pytest.mark.django_db
WINDOW = 300  # the replay window docs/webhooks.md tells receivers to use


def receiver_verifies(secret: str, raw_body: bytes, header: str, *, now: float | None = None) -> bool:
    """The receiver of docs/webhooks.md, written from the docs alone."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    timestamp, signature = parts["t"], parts["v1"]
    if abs((time.time() if now is None else now) - int(timestamp)) > WINDOW:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def test_a_delivery_signs_the_time_with_the_body(workspace, endpoint, receiver) -> None:
    (event,) = events_of(mark_sent(sending_message(workspace)))
    before = int(time.time())
    assert deliver_webhook_event.apply(args=[event.pk]).get() == "delivered"
    (got,) = receiver.requests
    header = got.headers["X-Tuco-Signature-256"]
    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", header), header
    stamp = int(header.split(",")[0].removeprefix("t="))
    assert before - 1 <= stamp <= int(time.time()) + 1
    assert stamp == int(parse_iso(got.headers["X-Tuco-Timestamp"]).timestamp())  # one clock for both
    assert receiver_verifies(endpoint.secret, got.body, header)
    assert verify_256(endpoint.secret, got.body, header)
    # A recorded request replayed after the window fails, and so does a forged time or body.
    assert not receiver_verifies(endpoint.secret, got.body, header, now=stamp + WINDOW + 1)
    assert not verify_256(endpoint.secret, got.body, header, now=stamp + WINDOW + 1)
    forged = header.replace(f"t={stamp}", f"t={stamp + 600}")
    assert not receiver_verifies(endpoint.secret, got.body, forged, now=stamp + 600)
    assert not verify_256(endpoint.secret, got.body + b" ", header)
    assert not verify_256("whsec_wrong", got.body, header)
    # The deprecated header is still there for one release: HMAC of the body alone.
    legacy = hmac.new(endpoint.secret.encode(), got.body, hashlib.sha256).hexdigest()
    assert got.headers["X-Tuco-Signature"] == legacy


@pytest.mark.parametrize("header", ["", "t=abc,v1=00", "v1=00", "t=1,t=2,v1=00", "garbage"])
def test_malformed_signature_headers_do_not_verify(header: str) -> None:
    assert verify_256("whsec_x", b"{}", header) is False


def test_the_fallback_webhook_is_signed_the_same_way_and_not_at_all_without_a_secret() -> None:
    context = SendContext(message_id="65f000000000000000000001", workspace_id="65f0000000000000000000aa",
                          reason="no_imessage", extra={})
    for secret in ("fallback-secret-value-0001", ""):
        with http_receiver() as (url, received):
            WebhookProvider(url=url, secret=secret).send_sms(to="+12025550100", body="Hi", idempotency_key="k1",
                                                             status_callback_url=None, context=context)
        [(headers, raw)] = received.requests
        if secret:
            assert receiver_verifies(secret, raw, headers["X-Tuco-Signature-256"])
        else:
            assert "X-Tuco-Signature-256" not in headers and "X-Tuco-Signature" not in headers
