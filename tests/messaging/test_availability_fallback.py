"""Availability (Private API lines), the fallback scenario table, forceFallback, SMS and email channels."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.utils import timezone

from leads.models import Lead
from lines.models import LineDailyUsage
from messaging.models import Message, SendAttempt
from messaging.send import fallback as fallback_services
from messaging.send.dispatcher import send_message
from messaging.send.fallback import fallback_sms_send
from tests.factories import DeviceFactory, LeadFactory, LineFactory
from tests.fallback.factories import TWILIO_MESSAGES_URL, FallbackConfigFactory, twilio_error, twilio_message
from tests.messaging.relay_mocks import RELAY, relay_accepts_everything

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast(monkeypatch, settings) -> None:
    monkeypatch.setattr(fallback_services, "RETRY_DELAYS_SECONDS", (0.0, 0.0))
    settings.TUCO_AVAILABILITY_GAP_SECONDS = 0


@pytest.fixture
def papi_line(workspace):
    device = DeviceFactory(workspace=workspace, relay_url=RELAY, private_api=True)
    return LineFactory(workspace=workspace, device=device, availability_daily_cap=70)


def handles(directory: dict[str, bool]) -> list[str]:
    """The relay answers availability from `directory`; returns the addresses asked, in order."""
    asked: list[str] = []

    def callback(request: Any) -> tuple[int, dict[str, str], str]:
        address = parse_qs(urlsplit(request.url).query)["address"][0]
        asked.append(address)
        body = {"status": 200, "message": "Success", "data": {"available": directory.get(address, True)}}
        return 200, {}, json.dumps(body)

    responses.add_callback(responses.GET, f"{RELAY}/api/v1/handle/availability/imessage", callback=callback)
    return asked


def _create(api, **body) -> Message:
    response = api.post("/api/messages", {"message": "hi", **body}, format="json")
    assert response.status_code in (200, 201), response.content
    return Message.objects.get(pk=response.json()["message"]["_id"])


@responses.activate
def test_addresses_are_tried_in_the_spec_order_and_the_first_on_imessage_is_used(api, workspace, papi_line) -> None:
    lead = LeadFactory(workspace=workspace, phone="+12025550001", alt_phone1="+12025550002",
                       alt_phone3="+12025550004", email="lead@example.com", alt_email1="alt@example.com")
    asked = handles({"+12025550001": False, "+12025550002": False, "+12025550004": False,
                     "lead@example.com": True})
    sent = relay_accepts_everything()
    message = _create(api, leadId=lead.pk)
    assert send_message(message.pk) == "sent"
    assert asked == ["+12025550001", "+12025550002", "+12025550004", "lead@example.com"]
    assert [s["address"] for s in sent] == ["lead@example.com"]
    message.refresh_from_db()
    assert message.send_to_address == "lead@example.com" and message.checked_addresses == asked
    assert message.availability_from_cache is False
    assert Lead.objects.get(pk=lead.pk).availability_status == "available"
    assert LineDailyUsage.objects.get(line=papi_line).availability_count == 4  # checks, not sends
    assert LineDailyUsage.objects.get(line=papi_line).total_count == 1


@responses.activate
def test_cached_answers_spend_no_budget_and_say_so(api, workspace, papi_line) -> None:
    asked = handles({"+12025550001": True})
    relay_accepts_everything()
    first = _create(api, recipientPhone="+12025550001", message="one")
    send_message(first.pk)
    second = _create(api, recipientPhone="+12025550001", message="two")
    send_message(second.pk)
    assert asked == ["+12025550001"]  # the second send was answered from the cache
    second.refresh_from_db()
    assert second.status == "sent" and second.availability_from_cache is True
    assert LineDailyUsage.objects.get(line=papi_line).availability_count == 1


@responses.activate
def test_nobody_on_imessage_is_fallback_and_fires_the_configured_fallback(api, workspace, papi_line) -> None:
    FallbackConfigFactory(workspace=workspace)
    handles({"+12025550001": False, "x@example.com": False})
    responses.post(TWILIO_MESSAGES_URL, json=twilio_message(to="+12025550001"), status=201)
    message = _create(api, recipientPhone="+12025550001", recipientEmail="x@example.com")
    assert send_message(message.pk) == "fallback"
    message.refresh_from_db()
    assert message.status == "fallback" and message.fallback_reason == "Contact not available on iMessage"
    assert message.checked_addresses == ["+12025550001", "x@example.com"]
    assert message.fallback_sms_status == "pending"  # durable before any worker runs
    assert LineDailyUsage.objects.get(line=papi_line).total_count == 0  # no send happened: capacity released
    outcome = fallback_sms_send(message_id=message.pk, reason="imessage_unavailable")
    assert outcome.sent and outcome.provider == "twilio"
    message.refresh_from_db()
    assert message.fallback_sms_status == "sent" and message.fallback_external_id.startswith("SM")
    doc = api.get(f"/api/messages/{message.pk}").json()["message"]
    assert doc["status"] == "fallback" and doc["reason"] == "Contact not available on iMessage"
    assert doc["checkedAddresses"] == ["+12025550001", "x@example.com"] and doc["fallbackSmsStatus"] == "sent"


@responses.activate
def test_fallback_without_configuration_does_not_fire(api, workspace, papi_line) -> None:
    handles({"+12025550001": False})
    message = _create(api, recipientPhone="+12025550001")
    assert send_message(message.pk) == "fallback"
    message.refresh_from_db()
    assert message.fallback_sms_status == ""


@responses.activate
def test_availability_error_fails_the_message(api, workspace, papi_line) -> None:
    responses.get(f"{RELAY}/api/v1/handle/availability/imessage", status=500, json={
        "status": 500, "message": "The server has encountered an error",
        "error": {"type": "Server Error", "message": "Failed to determine iMessage availability!"}})
    message = _create(api, recipientPhone="+12025550001")
    assert send_message(message.pk) == "failed"
    message.refresh_from_db()
    assert message.status == "failed" and message.error_code == "AVAILABILITY_ERROR"
    assert message.error.startswith("availability API error")
    assert LineDailyUsage.objects.get(line=papi_line).availability_count == 0  # a failed check costs nothing


@responses.activate
def test_spent_budget_makes_the_message_wait_until_the_reset(api, workspace, papi_line) -> None:
    type(papi_line).objects.filter(pk=papi_line.pk).update(availability_daily_cap=1)
    handles({})
    relay_accepts_everything()
    first = _create(api, recipientPhone="+12025550001")
    assert send_message(first.pk) == "sent"
    second = _create(api, recipientPhone="+12025550002")
    assert send_message(second.pk) == "waiting"
    second.refresh_from_db()
    assert second.status == "queued" and second.queued_reason == "availability_budget"
    assert second.next_attempt_at > timezone.now() and second.attempt_count == 0
    response = api.get("/api/check-availability-rr?address=%2B12025550003")
    assert response.status_code == 429 and response["Retry-After"] == "3600"
    assert response.json()["reason"] == "Daily availability check quota exhausted"


@pytest.mark.parametrize("message_flag,workspace_flag,configured,fires", [
    (True, False, True, True),
    (None, True, True, True),
    (False, True, True, False),
    (None, False, True, False),
    (None, True, False, False),
])
def test_failed_messages_follow_the_spec_table(workspace, line, message_flag, workspace_flag, configured, fires):
    from messaging.send import state
    from messaging.send.outcomes import fail

    if configured:
        FallbackConfigFactory(workspace=workspace, send_fallback_sms_on_failed=workspace_flag)
    message = Message.objects.create(workspace=workspace, line=line, body="x", recipient_phone="+12025550001",
                                     send_to_address="+12025550001", status="pending",
                                     send_fallback_sms_on_failed=message_flag)
    state.transition(message.pk, to="sending", allowed_from=("pending",))
    fail(Message.objects.get(pk=message.pk), error="boom", code="SEND_FAILED")
    assert (Message.objects.get(pk=message.pk).fallback_sms_status == "pending") is fires


@responses.activate
def test_email_only_failed_message_records_that_no_fallback_was_possible(workspace, line) -> None:
    from messaging.send import state
    from messaging.send.outcomes import fail

    FallbackConfigFactory(workspace=workspace)
    message = Message.objects.create(workspace=workspace, line=line, body="x", recipient_email="a@b.co",
                                     send_to_address="a@b.co", status="pending", send_fallback_sms_on_failed=True)
    state.transition(message.pk, to="sending", allowed_from=("pending",))
    fail(Message.objects.get(pk=message.pk), error="boom", code="SEND_FAILED")
    outcome = fallback_sms_send(message_id=message.pk, reason="failed")
    assert not outcome.sent and outcome.error_code == "NO_PHONE"
    assert Message.objects.get(pk=message.pk).fallback_sms_status == "failed"
    assert len(responses.calls) == 0


@responses.activate
def test_force_fallback_skips_imessage_and_answers_in_the_request(api, workspace, papi_line) -> None:
    FallbackConfigFactory(workspace=workspace)
    responses.post(TWILIO_MESSAGES_URL, json=twilio_message(to="+12025550001"), status=201)
    response = api.post("/api/messages", {"message": "straight to SMS", "recipientPhone": "+12025550001",
                                          "forceFallback": True}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True and body["status"] == "fallback"
    assert body["message"]["fallbackSmsStatus"] == "sent" and body["message"]["fallbackProvider"] == "twilio"
    assert not LineDailyUsage.objects.exists()  # no line cap, no availability budget
    assert all("/api/v1/" not in call.request.url for call in responses.calls)  # iMessage never touched
    message = Message.objects.get(pk=body["message"]["_id"])
    assert send_message(message.pk) == "gone"  # a late wake-up does nothing


def test_force_fallback_without_configuration_is_200_success_false(api, workspace, papi_line) -> None:
    response = api.post("/api/messages", {"message": "nowhere to go", "recipientPhone": "+12025550001",
                                          "forceFallback": True}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is False and body["error"].startswith("fallback:")
    assert body["message"]["fallbackSmsStatus"] == "failed" and body["message"]["status"] == "fallback"


@responses.activate
def test_force_fallback_provider_error_is_channel_tagged(api, workspace, papi_line) -> None:
    FallbackConfigFactory(workspace=workspace)
    responses.post(TWILIO_MESSAGES_URL, status=400,
                   json=twilio_error(21212, "The 'From' number +14155550100 is not a valid phone number."))
    response = api.post("/api/messages", {"message": "bad sender", "recipientPhone": "+12025550001",
                                          "forceFallback": True}, format="json")
    body = response.json()
    assert response.status_code == 200 and body["success"] is False
    assert body["error"].startswith("twilio:") and body["code"] == "TWILIO_21212" and body["channel"] == "twilio"
    assert body["message"]["fallbackSmsStatus"] == "failed"


@responses.activate
def test_sms_messages_go_through_twilio(api, workspace, line) -> None:
    FallbackConfigFactory(workspace=workspace)
    responses.post(TWILIO_MESSAGES_URL, json=twilio_message(sid="SMabc", to="+12025550001"), status=201)
    message = _create(api, recipientPhone="+12025550001", messageType="sms")
    assert message.line_id is None  # SMS goes through the workspace's Twilio number, not a line
    assert send_message(message.pk) == "sent"
    message.refresh_from_db()
    assert message.status == "sent" and message.external_message_id == "SMabc"
    attempt = SendAttempt.objects.get(message=message)
    assert attempt.channel == "twilio" and attempt.outcome == "sent"
    assert "AuthToken" not in json.dumps(attempt.request_summary)


@responses.activate
def test_sms_permanent_error_fails_with_the_twilio_code(api, workspace, line) -> None:
    FallbackConfigFactory(workspace=workspace)
    responses.post(TWILIO_MESSAGES_URL, status=400, json=twilio_error(21610, "Attempt to send to unsubscribed"))
    message = _create(api, recipientPhone="+12025550001", messageType="sms")
    assert send_message(message.pk) == "failed"
    message.refresh_from_db()
    assert message.error_code == "TWILIO_21610"


def test_email_messages_go_out_over_smtp(api, workspace) -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message as MessageHandler

    received = []

    class Collect(MessageHandler):
        def handle_message(self, message: Any) -> None:
            received.append(message)

    from tests.e2e.harness import free_port

    port = free_port()
    controller = Controller(Collect(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        LineFactory(workspace=workspace, device=None, channel_type="email", email="sales@tuco.test", phone="",
                    smtp_host="127.0.0.1", smtp_port=port)
        message = _create(api, messageType="email", recipientEmail="buyer@example.com", subject="Quick question",
                          recipientName="Ada Lovelace", message="Hi {{firstName}}, hello from Tuco")
        assert send_message(message.pk) == "sent"
    finally:
        controller.stop()
    message.refresh_from_db()
    assert message.status == "sent" and message.email_message_id == message.external_message_id
    assert len(received) == 1
    mail = received[0]
    assert mail["To"] == "buyer@example.com" and mail["Subject"] == "Quick question"
    assert mail["From"].endswith("sales@tuco.test>") or mail["From"] == "sales@tuco.test"
    assert "Hi Ada, hello from Tuco" in mail.get_payload(decode=True).decode()
    assert mail["Message-ID"] == message.email_message_id
    assert SendAttempt.objects.get(message=message).channel == "smtp"


@responses.activate
def test_an_email_only_message_never_triggers_a_fallback_sms_even_if_its_lead_has_a_phone(api, workspace,
                                                                                          papi_line) -> None:
    """Spec: "Fallback SMS requires recipientPhone on the message. Email-only messages will not trigger
    fallback SMS." The lead's stored phone is not used (cost, and consent)."""
    FallbackConfigFactory(workspace=workspace, send_fallback_sms_on_failed=True)
    lead = LeadFactory(workspace=workspace, phone="+12025550077", email="only@example.com")
    handles({"only@example.com": False, "+12025550077": False})
    message = _create(api, recipientEmail="only@example.com", sendFallbackSmsOnFailed=True)
    assert message.recipient_phone == "" and message.lead_id == lead.pk
    assert send_message(message.pk) == "fallback"
    message.refresh_from_db()
    assert message.status == "fallback" and message.fallback_sms_status == ""  # never requested
    assert not [c for c in responses.calls if "twilio" in c.request.url]
    outcome = fallback_sms_send(message_id=message.pk, reason="imessage_unavailable")  # even if asked directly
    assert outcome.error_code == "NO_PHONE" and not [c for c in responses.calls if "twilio" in c.request.url]


CHECKER = "http://checker.test:8765"


def _checker_answers(directory: dict[str, bool]) -> list[str]:
    asked: list[str] = []

    def callback(request: Any) -> tuple[int, dict[str, str], str]:
        address = parse_qs(urlsplit(request.url).query)["address"][0]
        asked.append(address)
        return 200, {}, json.dumps({"status": 200, "message": "Success", "data": {"available": directory[address]}})

    responses.add_callback(responses.GET, f"{CHECKER}/api/v1/handle/availability/imessage", callback=callback)
    return asked


@pytest.fixture
def plain_and_papi_lines(workspace):
    """A line without the Private API (the sender) and another Mac's line with it (the checker)."""
    plain = LineFactory(workspace=workspace, device=DeviceFactory(workspace=workspace, relay_url=RELAY,
                                                                  private_api=False))
    checker = LineFactory(workspace=workspace, device=DeviceFactory(workspace=workspace, relay_url=CHECKER,
                                                                    private_api=True), availability_daily_cap=70)
    return plain, checker


@responses.activate
def test_a_send_from_a_plain_line_is_checked_through_the_workspaces_private_api_line(api, workspace,
                                                                                     plain_and_papi_lines) -> None:
    """Spec: "If the workspace has a line with Private API, Tuco checks whether the recipient supports iMessage."
    The check runs on the Private API line (its budget), the send on the line that was chosen."""
    plain, checker = plain_and_papi_lines
    lead = LeadFactory(workspace=workspace, phone="+12025550301", alt_phone1="+12025550302")
    asked = _checker_answers({"+12025550301": False, "+12025550302": True})
    sent = relay_accepts_everything()
    message = _create(api, leadId=lead.pk, fromLineId=plain.pk)
    assert send_message(message.pk) == "sent"
    assert asked == ["+12025550301", "+12025550302"]
    assert [s["address"] for s in sent] == ["+12025550302"] and sent[0]["base"] == RELAY  # the plain line sent
    assert LineDailyUsage.objects.get(line=checker).availability_count == 2  # the checker's budget
    assert LineDailyUsage.objects.get(line=plain).total_count == 1
    message.refresh_from_db()
    assert message.send_to_address == "+12025550302" and message.checked_addresses == asked


@responses.activate
def test_nobody_on_imessage_from_a_plain_line_is_fallback(api, workspace, plain_and_papi_lines) -> None:
    plain, _ = plain_and_papi_lines
    FallbackConfigFactory(workspace=workspace)
    _checker_answers({"+12025550311": False})
    message = _create(api, recipientPhone="+12025550311", fromLineId=plain.pk)
    assert send_message(message.pk) == "fallback"
    message.refresh_from_db()
    assert message.status == "fallback" and message.fallback_sms_status == "pending"


@responses.activate
def test_a_dead_checker_goes_unhealthy_and_the_plain_line_still_sends(api, workspace, plain_and_papi_lines) -> None:
    plain, checker = plain_and_papi_lines
    responses.get(f"{CHECKER}/api/v1/handle/availability/imessage", status=401,  # its password is refused
                  json={"status": 401, "message": "You are not authorized to access this resource",
                        "error": {"type": "Authentication Error", "message": "Unauthorized"}})
    sent = relay_accepts_everything()
    message = _create(api, recipientPhone="+12025550321", fromLineId=plain.pk)
    assert send_message(message.pk) == "sent" and len(sent) == 1
    checker.refresh_from_db()
    assert checker.health_status == "unhealthy"
    assert message.events.filter(reason="availability_skipped").exists()


@responses.activate
def test_a_workspace_without_a_private_api_line_sends_without_a_check(api, workspace) -> None:
    plain = LineFactory(workspace=workspace, device=DeviceFactory(workspace=workspace, relay_url=RELAY))
    sent = relay_accepts_everything()
    message = _create(api, recipientPhone="+12025550331", fromLineId=plain.pk)
    assert send_message(message.pk) == "sent" and len(sent) == 1
    assert not message.events.filter(reason="availability_checked").exists()
