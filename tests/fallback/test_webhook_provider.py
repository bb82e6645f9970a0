from __future__ import annotations

import hashlib
import hmac
import json

import pytest
import requests
import responses
from django.test import override_settings

from fallback.providers.base import SendContext
from fallback.providers.webhook import WebhookProvider
from tests.fallback.factories import WEBHOOK_SECRET
from tests.fallback.receivers import http_receiver
from tuco.send_errors import SendError

URL = "https://hooks.example.com/sms"
CONTEXT = SendContext(message_id="65f000000000000000000001", workspace_id="65f0000000000000000000aa",
                      reason="no_imessage", extra={"recipientName": "Jane"})


def _send(url: str = URL, secret: str = WEBHOOK_SECRET):
    return WebhookProvider(url=url, secret=secret).send_sms(
        to="+12025550100", body="Hi there", idempotency_key="fallback_65f000000000000000000001",
        status_callback_url=None, context=CONTEXT)


def _verify(secret: str, raw: bytes, signature: str) -> bool:
    """What an integrator writes, knowing nothing but the secret."""
    return hmac.compare_digest(hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest(), signature)


@pytest.mark.django_db
def test_signed_post_to_a_real_receiver() -> None:
    with http_receiver() as (url, received):
        result = _send(url)
    assert result.status == "sent" and result.external_id == "fallback_65f000000000000000000001"
    [(headers, raw)] = received.requests
    assert _verify(WEBHOOK_SECRET, raw, headers["X-Tuco-Signature"])
    assert not _verify("some-other-secret-value", raw, headers["X-Tuco-Signature"])
    payload = json.loads(raw)
    assert payload["event"] == "message.fallback_sms" and headers["X-Tuco-Event"] == "message.fallback_sms"
    assert payload["workspaceId"] == CONTEXT.workspace_id and payload["timestamp"] == headers["X-Tuco-Timestamp"]
    assert payload["data"]["messageId"] == CONTEXT.message_id
    assert payload["data"]["recipientPhone"] == "+12025550100" and payload["data"]["message"] == "Hi there"
    assert payload["data"]["reason"] == "no_imessage" and payload["data"]["recipientName"] == "Jane"
    assert headers["X-Tuco-Event-Id"] == headers["Idempotency-Key"] == "fallback_65f000000000000000000001"
    assert WEBHOOK_SECRET not in raw.decode()


@pytest.mark.django_db
def test_receiver_id_becomes_the_external_id() -> None:
    with http_receiver(body=b'{"messageId": "rcv-42"}') as (url, _):
        assert _send(url).external_id == "rcv-42"


@pytest.mark.django_db
@override_settings(TUCO_ALLOW_PRIVATE_URLS=False)
def test_private_address_is_refused_at_connect_time() -> None:
    with http_receiver() as (url, received), pytest.raises(SendError) as caught:
        _send(url)
    assert caught.value.permanent and caught.value.code == "URL_BLOCKED"
    assert received.requests == []


@pytest.mark.parametrize("status,permanent,maybe_sent", [
    (400, True, False), (401, True, False), (404, True, False), (410, True, False),
    (429, False, False), (408, False, False), (500, False, True), (503, False, True), (302, True, False),
])
@responses.activate
def test_status_classification(status, permanent, maybe_sent) -> None:
    responses.post(URL, status=status, headers={"Location": "https://elsewhere.example.com"})
    with pytest.raises(SendError) as caught:
        _send()
    assert caught.value.permanent is permanent and caught.value.maybe_sent is maybe_sent
    assert caught.value.code == f"WEBHOOK_HTTP_{status}" and caught.value.response_code == status
    assert len(responses.calls) == 1  # redirects are not followed


@responses.activate
def test_timeout_is_transient() -> None:
    responses.post(URL, body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(SendError) as caught:
        _send()
    assert not caught.value.permanent and caught.value.code == "TIMEOUT"


@responses.activate
def test_any_2xx_is_sent() -> None:
    responses.post(URL, status=204)
    assert _send().status == "sent"
