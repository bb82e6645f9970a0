from __future__ import annotations

import json
import logging
import threading
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
import responses
from django.db import connection

from fallback.models import FallbackConfig
from leads.models import DncEntry
from messaging.models import Message, MessageEvent, SendAttempt
from messaging.send.fallback import NO_PHONE, fallback_sms_send
from tests.factories import LeadFactory, MessageFactory, WorkspaceFactory
from tests.fallback.factories import (
    AUTH_TOKEN,
    GHL_MESSAGES_URL,
    GHL_TOKEN,
    GHL_UPSERT_URL,
    TWILIO_MESSAGES_URL,
    WEBHOOK_SECRET,
    FallbackConfigFactory,
    ghl_message,
    ghl_upsert,
    twilio_error,
    twilio_message,
)


def _fallback_message(workspace: Any, **kw: Any) -> Message:
    defaults: dict[str, Any] = {"workspace": workspace, "status": "fallback", "body": "Hi {{firstName|there}}",
                                "recipient_phone": "+12025550100", "send_to_address": "+12025550100"}
    return MessageFactory(**{**defaults, **kw})


def _facts(message: Message) -> list[MessageEvent]:
    return list(MessageEvent.objects.filter(message=message, reason__startswith="fallback_sms").order_by("id"))


@responses.activate
def test_twilio_fallback_is_sent_and_recorded(twilio_config, workspace, settings) -> None:
    settings.TUCO_PUBLIC_URL = "https://tuco.example.com"
    responses.post(TWILIO_MESSAGES_URL, json=twilio_message(sid="SMfb01"), status=201)
    message = _fallback_message(workspace)
    outcome = fallback_sms_send(message_id=message.pk, reason="no_imessage")
    assert outcome.claimed and outcome.sent and outcome.provider == "twilio" and outcome.external_id == "SMfb01"
    message.refresh_from_db()
    assert message.status == "fallback"  # the dispatch never touches the message status
    assert message.fallback_sms_status == "sent" and message.fallback_provider == "twilio"
    assert message.fallback_external_id == "SMfb01" and message.fallback_sent_at and message.fallback_error == ""
    form = parse_qs(responses.calls[0].request.body)
    assert form["To"] == ["+12025550100"] and form["Body"] == ["Hi there"]
    assert form["StatusCallback"] == [f"https://tuco.example.com/hooks/twilio/status?ws={workspace.pk}"]
    [attempt] = SendAttempt.objects.filter(message=message)
    assert attempt.channel == "twilio" and attempt.number == 1 and attempt.outcome == "sent"
    assert attempt.response_code == 201 and attempt.external_id == "SMfb01" and attempt.duration_ms is not None
    assert attempt.request_summary["kind"] == "fallback" and attempt.to_address == "+12025550100"
    assert AUTH_TOKEN not in json.dumps(attempt.request_summary)
    [fact] = _facts(message)
    assert fact.reason == "fallback_sms_sent" and fact.detail["externalId"] == "SMfb01"
    assert fact.from_status == "" and fact.to_status == ""


@responses.activate
def test_second_dispatch_does_not_send_again(twilio_config, workspace) -> None:
    responses.post(TWILIO_MESSAGES_URL, json=twilio_message(), status=201)
    message = _fallback_message(workspace)
    assert fallback_sms_send(message_id=message.pk, reason="no_imessage").claimed
    again = fallback_sms_send(message_id=message.pk, reason="no_imessage")
    assert not again.claimed and again.status == "sent"
    assert len(responses.calls) == 1 and SendAttempt.objects.filter(message=message).count() == 1


@responses.activate
def test_pending_fallback_is_claimable(twilio_config, workspace) -> None:
    responses.post(TWILIO_MESSAGES_URL, json=twilio_message(), status=201)
    message = _fallback_message(workspace, fallback_sms_status="pending")
    assert fallback_sms_send(message_id=message.pk, reason="failed").sent


@pytest.mark.parametrize("current", ["sending", "sent", "delivered", "failed"])
@responses.activate
def test_fallback_already_under_way_or_done_is_left_alone(twilio_config, workspace, current) -> None:
    message = _fallback_message(workspace, fallback_sms_status=current)
    outcome = fallback_sms_send(message_id=message.pk, reason="no_imessage")
    assert not outcome.claimed and outcome.status == current and len(responses.calls) == 0


@responses.activate
def test_message_without_any_phone_fails_clearly(twilio_config, workspace) -> None:
    message = _fallback_message(workspace, recipient_phone="", recipient_email="jane@example.com",
                                send_to_address="jane@example.com")
    outcome = fallback_sms_send(message_id=message.pk, reason="no_imessage")
    message.refresh_from_db()
    assert outcome.claimed and outcome.status == "failed" and outcome.error_code == "NO_PHONE"
    assert message.fallback_sms_status == "failed" and message.fallback_error == NO_PHONE
    assert NO_PHONE == "No phone number: fallback SMS not possible"
    assert len(responses.calls) == 0 and not SendAttempt.objects.filter(message=message).exists()
    assert _facts(message)[0].reason == "fallback_sms_failed"


@responses.activate
def test_the_leads_phones_are_not_used_when_the_message_has_none(twilio_config, workspace) -> None:
    """Spec (issue 16): "Fallback SMS requires recipientPhone on the message"; an email-only message's lead
    phones are not texted (this test pinned the opposite before)."""
    responses.post(TWILIO_MESSAGES_URL, json=twilio_message(), status=201)
    lead = LeadFactory(workspace=workspace, phone="", alt_phone1="+12025550177", email="jane@example.com")
    message = _fallback_message(workspace, lead=lead, recipient_phone="", recipient_email="jane@example.com")
    outcome = fallback_sms_send(message_id=message.pk, reason="no_imessage")
    assert not outcome.sent and outcome.error_code == "NO_PHONE" and len(responses.calls) == 0


@responses.activate
def test_no_config_fails_clearly(workspace) -> None:
    message = _fallback_message(workspace)
    outcome = fallback_sms_send(message_id=message.pk, reason="no_imessage")
    message.refresh_from_db()
    assert outcome.status == "failed" and outcome.error_code == "FALLBACK_NOT_CONFIGURED"
    assert message.fallback_sms_status == "failed" and "not configured" in message.fallback_error
    FallbackConfig.objects.create(workspace=workspace, provider="twilio")  # chosen but incomplete
    other = _fallback_message(workspace, body="another")
    assert fallback_sms_send(message_id=other.pk, reason="x").error_code == "FALLBACK_NOT_CONFIGURED"
    assert len(responses.calls) == 0


@responses.activate
def test_do_not_contact_number_gets_no_fallback(twilio_config, workspace) -> None:
    DncEntry.objects.create(workspace=workspace, address="+12025550100", reason="manual")
    message = _fallback_message(workspace)
    outcome = fallback_sms_send(message_id=message.pk, reason="no_imessage")
    assert outcome.status == "failed" and outcome.error_code == "DO_NOT_CONTACT" and len(responses.calls) == 0


@responses.activate
def test_opted_out_recipient_goes_on_the_dnc_list(twilio_config, workspace) -> None:
    responses.post(TWILIO_MESSAGES_URL, json=twilio_error(21610, "Attempt to send to unsubscribed recipient"),
                   status=400)
    message = _fallback_message(workspace)
    outcome = fallback_sms_send(message_id=message.pk, reason="no_imessage")
    message.refresh_from_db()
    assert outcome.status == "failed" and outcome.error_code == "TWILIO_21610"
    assert message.fallback_sms_status == "failed" and "21610" in message.fallback_error
    entry = DncEntry.objects.get(workspace=workspace, address="+12025550100")
    assert entry.reason == "carrier_opt_out" and entry.source_message_id == message.pk
    [attempt] = SendAttempt.objects.filter(message=message)
    assert attempt.outcome == "not_sent" and attempt.error_class == "permanent" and attempt.response_code == 400


@responses.activate
def test_permanent_error_is_tried_once(twilio_config, workspace) -> None:
    responses.post(TWILIO_MESSAGES_URL, status=400,
                   json=twilio_error(21211, "The 'To' number +12025550100 is not a valid phone number."))
    message = _fallback_message(workspace)
    outcome = fallback_sms_send(message_id=message.pk, reason="no_imessage")
    message.refresh_from_db()
    assert outcome.status == "failed" and len(responses.calls) == 1
    assert message.fallback_error == "Twilio error 21211: The 'To' number +12025550100 is not a valid phone number."
    assert not DncEntry.objects.exists()
    fact = _facts(message)[0]
    assert fact.detail["errorCode"] == "TWILIO_21211" and fact.detail["tries"] == 1


@responses.activate
def test_transient_error_is_retried_with_one_attempt_row_per_try(twilio_config, workspace) -> None:
    responses.post(TWILIO_MESSAGES_URL, json=twilio_error(20503, "Service unavailable", 503), status=503)
    responses.post(TWILIO_MESSAGES_URL, json=twilio_message(sid="SMok"), status=201)
    message = _fallback_message(workspace)
    outcome = fallback_sms_send(message_id=message.pk, reason="no_imessage")
    assert outcome.sent and outcome.external_id == "SMok" and len(responses.calls) == 2
    attempts = list(SendAttempt.objects.filter(message=message).order_by("number"))
    assert [(a.number, a.outcome, a.response_code) for a in attempts] == [(1, "not_sent", 503), (2, "sent", 201)]
    assert attempts[0].error_class == "transient" and "20503" in attempts[0].error


@responses.activate
def test_ambiguous_twilio_failure_is_not_retried(twilio_config, workspace) -> None:
    """Twilio has no idempotency key: after a read timeout the SMS may exist, so no second try."""
    responses.post(TWILIO_MESSAGES_URL, body=requests.exceptions.ReadTimeout("read timed out"))
    message = _fallback_message(workspace)
    outcome = fallback_sms_send(message_id=message.pk, reason="no_imessage")
    assert outcome.status == "failed" and outcome.error_code == "TIMEOUT" and len(responses.calls) == 1
    assert SendAttempt.objects.get(message=message).outcome == "unknown"


@responses.activate
def test_webhook_provider_retries_ambiguous_failures_with_the_same_key(workspace) -> None:
    FallbackConfigFactory(workspace=workspace, provider="webhook", webhook_url="https://hooks.example.com/sms",
                          webhook_secret=WEBHOOK_SECRET)
    responses.post("https://hooks.example.com/sms", status=500)
    responses.post("https://hooks.example.com/sms", status=500)
    responses.post("https://hooks.example.com/sms", status=500)
    message = _fallback_message(workspace)
    outcome = fallback_sms_send(message_id=message.pk, reason="no_imessage")
    assert outcome.status == "failed" and outcome.error_code == "WEBHOOK_HTTP_500"
    keys = {call.request.headers["X-Tuco-Event-Id"] for call in responses.calls}
    assert len(responses.calls) == 3 and keys == {f"fallback_{message.pk}"}
    assert list(SendAttempt.objects.filter(message=message).order_by("number").values_list("number", "channel")) == [
        (1, "webhook"), (2, "webhook"), (3, "webhook")]
    payload = json.loads(responses.calls[0].request.body)
    assert payload["data"]["messageId"] == message.pk and payload["workspaceId"] == workspace.pk


@responses.activate
def test_ghl_fallback(ghl_config, workspace) -> None:
    responses.post(GHL_UPSERT_URL, json=ghl_upsert(contact_id="c1"), status=201)
    responses.post(GHL_MESSAGES_URL, json=ghl_message(message_id="ghlmsg1"), status=201)
    message = _fallback_message(workspace, recipient_name="Jane Doe")
    outcome = fallback_sms_send(message_id=message.pk, reason="no_imessage")
    message.refresh_from_db()
    assert outcome.sent and message.fallback_provider == "ghl" and message.fallback_external_id == "ghlmsg1"
    assert json.loads(responses.calls[0].request.body)["name"] == "Jane Doe"
    # Placeholders are filled from the recipient, as the iMessage would have been.
    assert json.loads(responses.calls[1].request.body) == {"type": "SMS", "contactId": "c1", "message": "Hi Jane"}
    assert SendAttempt.objects.get(message=message).channel == "ghl"
    assert GHL_TOKEN not in json.dumps(SendAttempt.objects.get(message=message).request_summary)


@responses.activate
def test_dispatch_logs_carry_no_secrets(twilio_config, workspace, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    responses.post(TWILIO_MESSAGES_URL, json=twilio_message(), status=201)
    message = _fallback_message(workspace)
    fallback_sms_send(message_id=message.pk, reason="no_imessage")
    text = caplog.text + "".join(str(r.msg) for r in caplog.records)
    assert "fallback.sms_sent" in text and AUTH_TOKEN not in text


def test_unknown_message(db) -> None:
    outcome = fallback_sms_send(message_id="0" * 24, reason="x")
    assert not outcome.claimed and outcome.error_code == "NOT_FOUND"


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_dispatches_send_exactly_once() -> None:
    workspace = WorkspaceFactory()
    FallbackConfigFactory(workspace=workspace)
    message = _fallback_message(workspace)
    barrier = threading.Barrier(2)
    outcomes: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(5)
            outcomes.append(fallback_sms_send(message_id=message.pk, reason="no_imessage"))
        except BaseException as exc:  # surfaced below; a thread must not swallow failures
            errors.append(exc)
        finally:
            connection.close()

    with responses.RequestsMock() as mock:
        mock.post(TWILIO_MESSAGES_URL, json=twilio_message(sid="SMonce"), status=201)
        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        calls = len(mock.calls)
    assert errors == []
    assert calls == 1
    assert sorted(o.claimed for o in outcomes) == [False, True]
    assert SendAttempt.objects.filter(message=message).count() == 1
    message.refresh_from_db()
    assert message.fallback_sms_status == "sent" and message.fallback_external_id == "SMonce"
