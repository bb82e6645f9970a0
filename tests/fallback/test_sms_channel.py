from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import requests
import responses

from leads.models import DncEntry
from messaging.models import Message, SendAttempt
from messaging.send.channels.sms import sms_addresses, sms_send
from tests.factories import LeadFactory, MessageFactory
from tests.fallback.factories import GHL_LOCATION, GHL_TOKEN, TWILIO_MESSAGES_URL, twilio_error, twilio_message


def _sms(workspace: Any, **kw: Any) -> Message:
    defaults: dict[str, Any] = {"workspace": workspace, "message_type": "sms", "status": "sending", "body": "Hello",
                                "recipient_phone": "+12025550100", "send_to_address": "+12025550100"}
    return MessageFactory(**{**defaults, **kw})


def _to(call: Any) -> str:
    return parse_qs(call.request.body)["To"][0]


@responses.activate
def test_sms_is_sent_through_twilio(twilio_config, workspace, settings) -> None:
    settings.TUCO_PUBLIC_URL = "https://tuco.example.com"
    responses.post(TWILIO_MESSAGES_URL, json=twilio_message(sid="SMsms1"), status=201)
    message = _sms(workspace)
    outcome = sms_send(message_id=message.pk)
    assert outcome.sent and outcome.result == "sent" and outcome.external_id == "SMsms1"
    assert outcome.to_address == "+12025550100" and outcome.attempts == 1
    form = parse_qs(responses.calls[0].request.body)
    assert form["Body"] == ["Hello"]
    assert form["StatusCallback"] == [f"https://tuco.example.com/hooks/twilio/status?ws={workspace.pk}"]
    [attempt] = SendAttempt.objects.filter(message=message)
    assert (attempt.channel, attempt.number, attempt.outcome) == ("twilio", 1, "sent")
    assert attempt.request_summary["kind"] == "sms"
    message.refresh_from_db()
    assert message.status == "sending" and message.fallback_sms_status == ""  # the caller transitions


@responses.activate
def test_sms_needs_twilio_even_when_another_fallback_is_chosen(workspace) -> None:
    from tests.fallback.factories import FallbackConfigFactory

    FallbackConfigFactory(workspace=workspace, provider="ghl", twilio_auth_token="", ghl_location_id=GHL_LOCATION,
                          ghl_api_token=GHL_TOKEN)
    outcome = sms_send(message_id=_sms(workspace).pk)
    assert outcome.result == "failed" and outcome.permanent and outcome.error_code == "SMS_NOT_CONFIGURED"
    assert len(responses.calls) == 0


@responses.activate
def test_twilio_credentials_work_for_sms_whatever_the_fallback_provider(workspace) -> None:
    from tests.fallback.factories import FallbackConfigFactory

    FallbackConfigFactory(workspace=workspace, provider="webhook", webhook_url="https://hooks.example.com/x")
    responses.post(TWILIO_MESSAGES_URL, json=twilio_message(), status=201)
    assert sms_send(message_id=_sms(workspace).pk).sent


@responses.activate
def test_invalid_number_moves_on_to_the_lead_alt_phone(twilio_config, workspace) -> None:
    lead = LeadFactory(workspace=workspace, phone="+12025550100", alt_phone1="+12025550111",
                       email="jane@example.com", alt_email1="j2@example.com")
    responses.post(TWILIO_MESSAGES_URL, status=400,
                   json=twilio_error(21211, "The 'To' number +12025550100 is not a valid phone number."))
    responses.post(TWILIO_MESSAGES_URL, json=twilio_message(sid="SMalt"), status=201)
    message = _sms(workspace, lead=lead)
    outcome = sms_send(message_id=message.pk)
    assert outcome.sent and outcome.to_address == "+12025550111" and outcome.external_id == "SMalt"
    assert [_to(c) for c in responses.calls] == ["+12025550100", "+12025550111"]
    attempts = list(SendAttempt.objects.filter(message=message).order_by("number"))
    assert [(a.number, a.to_address, a.outcome) for a in attempts] == [
        (1, "+12025550100", "not_sent"), (2, "+12025550111", "sent")]


def test_addresses_are_phones_only_in_lead_order(workspace) -> None:
    lead = LeadFactory(workspace=workspace, phone="+12025550100", alt_phone1="+12025550111", alt_phone2="",
                       alt_phone3="+12025550133", email="jane@example.com", alt_email1="j2@example.com")
    message = _sms(workspace, lead=lead, send_to_address="+12025550133", recipient_phone="+12025550100")
    assert sms_addresses(message) == ["+12025550133", "+12025550100", "+12025550111"]


@responses.activate
def test_every_number_invalid_is_a_permanent_failure(twilio_config, workspace) -> None:
    lead = LeadFactory(workspace=workspace, phone="+12025550100", alt_phone1="+12025550111")
    responses.post(TWILIO_MESSAGES_URL, status=400, json=twilio_error(21614, "'To' number is not a valid mobile "
                                                                             "number"))
    outcome = sms_send(message_id=_sms(workspace, lead=lead).pk)
    assert outcome.result == "failed" and outcome.error_code == "TWILIO_21614" and outcome.attempts == 2


@responses.activate
def test_opted_out_number_stops_and_goes_on_dnc(twilio_config, workspace) -> None:
    lead = LeadFactory(workspace=workspace, phone="+12025550100", alt_phone1="+12025550111")
    responses.post(TWILIO_MESSAGES_URL, json=twilio_error(21610, "Attempt to send to unsubscribed recipient"),
                   status=400)
    message = _sms(workspace, lead=lead)
    outcome = sms_send(message_id=message.pk)
    assert outcome.result == "failed" and outcome.error_code == "TWILIO_21610" and len(responses.calls) == 1
    assert DncEntry.objects.get(workspace=workspace, address="+12025550100").reason == "carrier_opt_out"


@responses.activate
def test_account_errors_do_not_try_other_numbers(twilio_config, workspace) -> None:
    lead = LeadFactory(workspace=workspace, phone="+12025550100", alt_phone1="+12025550111")
    responses.post(TWILIO_MESSAGES_URL, status=401, json={
        "code": 20003, "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401})
    outcome = sms_send(message_id=_sms(workspace, lead=lead).pk)
    assert outcome.result == "failed" and outcome.error_code == "TWILIO_20003" and len(responses.calls) == 1


@responses.activate
def test_transient_errors_are_returned_for_the_caller_to_retry(twilio_config, workspace) -> None:
    responses.post(TWILIO_MESSAGES_URL, json=twilio_error(20429, "Too Many Requests", 429), status=429)
    outcome = sms_send(message_id=_sms(workspace).pk)
    assert outcome.result == "transient" and not outcome.permanent and not outcome.maybe_sent
    assert outcome.error_code == "TWILIO_20429" and len(responses.calls) == 1


@responses.activate
def test_timeout_is_transient_but_maybe_sent(twilio_config, workspace) -> None:
    responses.post(TWILIO_MESSAGES_URL, body=requests.exceptions.ReadTimeout("read timed out"))
    message = _sms(workspace)
    outcome = sms_send(message_id=message.pk)
    assert outcome.result == "transient" and outcome.maybe_sent
    assert SendAttempt.objects.get(message=message).outcome == "unknown"


@responses.activate
def test_dnc_numbers_are_skipped(twilio_config, workspace) -> None:
    lead = LeadFactory(workspace=workspace, phone="+12025550100", alt_phone1="+12025550111")
    DncEntry.objects.create(workspace=workspace, address="+12025550100")
    responses.post(TWILIO_MESSAGES_URL, json=twilio_message(), status=201)
    outcome = sms_send(message_id=_sms(workspace, lead=lead).pk)
    assert outcome.sent and outcome.to_address == "+12025550111"
    assert [_to(c) for c in responses.calls] == ["+12025550111"]
    DncEntry.objects.create(workspace=workspace, address="+12025550111")
    outcome = sms_send(message_id=_sms(workspace, lead=lead, body="again").pk)
    assert outcome.result == "failed" and outcome.error_code == "DO_NOT_CONTACT" and len(responses.calls) == 1


@responses.activate
def test_no_phone_at_all(twilio_config, workspace) -> None:
    lead = LeadFactory(workspace=workspace, phone="", email="jane@example.com")
    message = _sms(workspace, lead=lead, recipient_phone="", send_to_address="jane@example.com")
    outcome = sms_send(message_id=message.pk)
    assert outcome.result == "failed" and outcome.error_code == "NO_PHONE" and len(responses.calls) == 0
