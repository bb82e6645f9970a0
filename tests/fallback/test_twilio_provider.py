from __future__ import annotations

import base64
from urllib.parse import parse_qs

import pytest
import requests
import responses

from fallback.providers.twilio import TwilioProvider
from tests.fallback.factories import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    FROM_NUMBER,
    TWILIO_MESSAGES_URL,
    twilio_error,
    twilio_message,
)
from tuco.send_errors import SendError

CALLBACK = "https://tuco.example.com/hooks/twilio/status?ws=abc"


def _provider() -> TwilioProvider:
    return TwilioProvider(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, from_number=FROM_NUMBER)


def _send(**kw: object):
    return _provider().send_sms(to="+12025550100", body="Hi there", idempotency_key="fallback_x",
                                status_callback_url=kw.get("callback", CALLBACK))


@responses.activate
def test_create_sends_the_real_request_and_returns_the_sid() -> None:
    responses.post(TWILIO_MESSAGES_URL, json=twilio_message(sid="SMabc123"), status=201)
    result = _send()
    assert result.external_id == "SMabc123" and result.status == "sent" and result.response_code == 201
    request = responses.calls[0].request
    form = parse_qs(request.body)
    assert form == {"To": ["+12025550100"], "From": [FROM_NUMBER], "Body": ["Hi there"],
                    "StatusCallback": [CALLBACK]}
    expected = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"


@responses.activate
def test_no_callback_url_is_not_sent() -> None:
    responses.post(TWILIO_MESSAGES_URL, json=twilio_message(), status=201)
    _send(callback=None)
    assert "StatusCallback" not in parse_qs(responses.calls[0].request.body)


@pytest.mark.parametrize("code,text", [
    (21211, "The 'To' number +1202555 is not a valid phone number."),
    (21408, "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: "
            "+8613800138000."),
    (21612, "The 'To' phone number: +12025550100, is not currently reachable using the 'From' phone number: "
            "+14155550100 via SMS."),
    (21606, "The 'From' phone number provided (+14155550100) is not a valid message-capable Twilio phone number "
            "for this destination."),
])
@responses.activate
def test_4xx_errors_are_permanent_with_twilio_code(code, text) -> None:
    responses.post(TWILIO_MESSAGES_URL, json=twilio_error(code, text), status=400)
    with pytest.raises(SendError) as caught:
        _send()
    error = caught.value
    assert error.permanent and not error.maybe_sent and not error.recipient_opted_out
    assert error.code == f"TWILIO_{code}" and error.response_code == 400
    assert error.message == f"Twilio error {code}: {text}"


@responses.activate
def test_21610_unsubscribed_recipient_is_flagged_opted_out() -> None:
    responses.post(TWILIO_MESSAGES_URL, json=twilio_error(21610, "Attempt to send to unsubscribed recipient"),
                   status=400)
    with pytest.raises(SendError) as caught:
        _send()
    assert caught.value.permanent and caught.value.recipient_opted_out and caught.value.code == "TWILIO_21610"


@responses.activate
def test_bad_credentials_are_permanent() -> None:
    body = {"code": 20003, "detail": "Your AccountSid or AuthToken was incorrect.", "message": "Authenticate",
            "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}
    responses.post(TWILIO_MESSAGES_URL, json=body, status=401)
    with pytest.raises(SendError) as caught:
        _send()
    assert caught.value.permanent and caught.value.code == "TWILIO_20003" and caught.value.response_code == 401
    assert AUTH_TOKEN not in caught.value.message


@pytest.mark.parametrize("status,code,maybe_sent", [(500, 20500, True), (503, 20503, False), (429, 20429, False)])
@responses.activate
def test_5xx_and_429_are_transient(status, code, maybe_sent) -> None:
    responses.post(TWILIO_MESSAGES_URL, json=twilio_error(code, "An internal server error has occurred", status),
                   status=status)
    with pytest.raises(SendError) as caught:
        _send()
    assert not caught.value.permanent and caught.value.maybe_sent is maybe_sent
    assert caught.value.code == f"TWILIO_{code}"


@responses.activate
def test_non_json_5xx_is_transient() -> None:
    responses.post(TWILIO_MESSAGES_URL, body="<html>Bad gateway</html>", status=502)
    with pytest.raises(SendError) as caught:
        _send()
    assert not caught.value.permanent and caught.value.response_code == 502


@pytest.mark.parametrize("exc,maybe_sent", [
    (requests.exceptions.ConnectTimeout("connect timed out"), False),
    (requests.exceptions.ConnectionError("Name or service not known"), False),
    (requests.exceptions.ReadTimeout("read timed out"), True),
])
@responses.activate
def test_network_failures_are_transient(exc, maybe_sent) -> None:
    responses.post(TWILIO_MESSAGES_URL, body=exc)
    with pytest.raises(SendError) as caught:
        _send()
    assert not caught.value.permanent and caught.value.maybe_sent is maybe_sent
    assert caught.value.code in ("TIMEOUT", "CONNECTION_ERROR")


@responses.activate
def test_failed_status_in_the_create_response_is_an_error() -> None:
    body = twilio_message(status="failed")
    body.update(error_code=30007, error_message="Message filtered")
    responses.post(TWILIO_MESSAGES_URL, json=body, status=201)
    with pytest.raises(SendError) as caught:
        _send()
    assert caught.value.code == "TWILIO_30007" and caught.value.permanent


def test_repr_and_summary_hold_no_token() -> None:
    provider = _provider()
    assert AUTH_TOKEN not in repr(provider)
    summary = provider.request_summary(to="+12025550100", body="Hi")
    assert AUTH_TOKEN not in str(summary) and summary["from"] == FROM_NUMBER and summary["bodyLength"] == 2
