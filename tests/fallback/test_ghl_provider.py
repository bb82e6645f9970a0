from __future__ import annotations

import json

import pytest
import requests
import responses

from fallback.providers.base import SendContext
from fallback.providers.ghl import GhlProvider
from tests.fallback.factories import (
    GHL_LOCATION,
    GHL_MESSAGES_URL,
    GHL_TOKEN,
    GHL_UPSERT_URL,
    ghl_message,
    ghl_upsert,
)
from tuco.send_errors import SendError


def _send(name: str = ""):
    provider = GhlProvider(location_id=GHL_LOCATION, api_token=GHL_TOKEN)
    return provider.send_sms(to="+12025550100", body="Hi from Tuco", idempotency_key="fallback_x",
                             status_callback_url=None, context=SendContext(extra={"recipientName": name}))


@responses.activate
def test_upsert_then_send_sms() -> None:
    responses.post(GHL_UPSERT_URL, json=ghl_upsert(contact_id="cont123"), status=201)
    responses.post(GHL_MESSAGES_URL, json=ghl_message(message_id="msg789"), status=201)
    result = _send(name="Jane Doe")
    assert result.external_id == "msg789" and result.status == "sent"
    upsert, send = responses.calls
    assert json.loads(upsert.request.body) == {"locationId": GHL_LOCATION, "phone": "+12025550100",
                                               "name": "Jane Doe"}
    assert json.loads(send.request.body) == {"type": "SMS", "contactId": "cont123", "message": "Hi from Tuco"}
    for call in responses.calls:
        assert call.request.headers["Authorization"] == f"Bearer {GHL_TOKEN}"
        assert call.request.headers["Version"] == "2021-07-28"


@responses.activate
def test_bad_token_is_permanent_and_nothing_is_sent() -> None:
    responses.post(GHL_UPSERT_URL, json={"statusCode": 401, "message": "Invalid JWT"}, status=401)
    with pytest.raises(SendError) as caught:
        _send()
    assert caught.value.permanent and caught.value.code == "GHL_HTTP_401" and "Invalid JWT" in caught.value.message
    assert len(responses.calls) == 1
    assert GHL_TOKEN not in caught.value.message


@responses.activate
def test_validation_error_list_is_readable() -> None:
    responses.post(GHL_UPSERT_URL, json=ghl_upsert(), status=200)
    responses.post(GHL_MESSAGES_URL, status=422, json={
        "statusCode": 422, "message": ["contactId must be longer than or equal to 1 characters"],
        "error": "Unprocessable Entity"})
    with pytest.raises(SendError) as caught:
        _send()
    assert caught.value.permanent and "contactId must be longer" in caught.value.message


@responses.activate
def test_rate_limit_is_transient_and_safe_to_retry() -> None:
    responses.post(GHL_UPSERT_URL, json=ghl_upsert(), status=200)
    responses.post(GHL_MESSAGES_URL, json={"statusCode": 429, "message": "Too many requests"}, status=429)
    with pytest.raises(SendError) as caught:
        _send()
    assert not caught.value.permanent and not caught.value.maybe_sent


@responses.activate
def test_send_timeout_may_have_sent() -> None:
    responses.post(GHL_UPSERT_URL, json=ghl_upsert(), status=200)
    responses.post(GHL_MESSAGES_URL, body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(SendError) as caught:
        _send()
    assert not caught.value.permanent and caught.value.maybe_sent


@responses.activate
def test_upsert_timeout_is_safe_to_retry() -> None:
    responses.post(GHL_UPSERT_URL, body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(SendError) as caught:
        _send()
    assert not caught.value.permanent and not caught.value.maybe_sent
