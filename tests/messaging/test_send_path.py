"""The exactly-once send path with the relay mocked: claim, send, verify, retry, fail, line health."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
import responses
import time_machine
from django.db import connection
from django.utils import timezone

from leads.dnc import dnc_add
from lines.models import Line, LineDailyUsage
from messaging.models import Message, SendAttempt
from messaging.send.claim import Claimed, claim_for_send
from messaging.send.dispatcher import send_message
from messaging.send.outcome import individual_policy
from messaging.send.outcomes import verify_once
from tests.factories import DeviceFactory, LeadFactory, LineFactory, WorkspaceFactory
from tests.messaging.relay_mocks import RELAY, bb_message, query_returns, send_ok, send_status

pytestmark = pytest.mark.django_db


@pytest.fixture
def relay_line(workspace):
    device = DeviceFactory(workspace=workspace, relay_url=RELAY, relay_password="pw")
    return LineFactory(workspace=workspace, device=device, phone="+14155550100")


def _create(api, **body) -> Message:
    response = api.post("/api/messages", {"message": "hi", "recipientPhone": "+12025551234", **body}, format="json")
    assert response.status_code == 201, response.content
    return Message.objects.get(pk=response.json()["message"]["_id"])


@responses.activate
def test_pending_to_sent_with_personalization(api, relay_line, workspace) -> None:
    lead = LeadFactory(workspace=workspace, first_name="Ada", last_name="Lovelace", phone="+12025551234")
    message = _create(api, message="Hi {{firstName}} {{ lastName }}, {{unknown}} {{email|no email}}", leadId=lead.pk)
    send_ok("GUID-A", text="Hi Ada Lovelace, {{unknown}} no email")
    assert send_message(message.pk) == "sent"
    message.refresh_from_db()
    assert message.status == "sent" and message.external_message_id == "GUID-A" and message.sent_at
    body = json.loads(responses.calls[0].request.body)
    assert body["message"] == "Hi Ada Lovelace, {{unknown}} no email"
    assert body["tempGuid"] == f"tuco-{message.pk}-1" and body["chatGuid"] == "iMessage;-;+12025551234"
    attempt = SendAttempt.objects.get(message=message)
    assert (attempt.number, attempt.outcome, attempt.response_code, attempt.external_id) == (1, "sent", 200, "GUID-A")
    assert attempt.duration_ms is not None
    assert [e.to_status for e in message.events.order_by("id")] == ["pending", "sending", "sent"]
    assert LineDailyUsage.objects.get(line=relay_line).total_count == 1
    assert send_message(message.pk) == "gone"  # a duplicate wake-up does nothing
    assert len(responses.calls) == 1


@responses.activate
def test_unknown_outcome_is_verified_before_any_retry(api, relay_line, settings) -> None:
    message = _create(api)
    send_status(500, "Failed to send message! See attached message error code.")
    assert send_message(message.pk) == "verifying"
    message.refresh_from_db()
    attempt = SendAttempt.objects.get(message=message)
    assert message.status == "sending" and attempt.outcome == "unknown" and attempt.verify_until
    query_returns([bb_message(guid="GUID-801", text="hi", address="+12025551234")])
    assert verify_once(message.pk, attempt.pk, policy=individual_policy()) == "sent"
    message.refresh_from_db()
    assert message.status == "sent" and message.external_message_id == "GUID-801"
    assert SendAttempt.objects.count() == 1  # verified, never resent


@responses.activate
def test_not_found_after_the_window_retries_after_the_gap(api, relay_line) -> None:
    message = _create(api)
    send_status(500, "Failed to send message! See attached message error code.")
    send_message(message.pk)
    attempt = SendAttempt.objects.get(message=message)
    query_returns([bb_message(guid="SOMEONE-ELSE", text="another text", address="+12025551234")])
    assert verify_once(message.pk, attempt.pk, policy=individual_policy()) == "pending"  # window still open
    SendAttempt.objects.filter(pk=attempt.pk).update(verify_until=timezone.now() - timedelta(seconds=1))
    before = timezone.now()
    assert verify_once(message.pk, attempt.pk, policy=individual_policy()) == "not_sent"
    message.refresh_from_db()
    assert message.status == "queued" and message.queued_reason == "retry_wait"
    assert message.next_attempt_at >= before + timedelta(seconds=59)
    assert LineDailyUsage.objects.get(line=relay_line).total_count == 0  # capacity given back
    assert message.reservation is None


@responses.activate
def test_a_guid_already_owned_by_another_message_is_not_a_match(api, relay_line) -> None:
    other = _create(api, message="hi", recipientPhone="+12025559999")
    Message.objects.filter(pk=other.pk).update(status="sent", external_message_id="GUID-OLD")
    message = _create(api)
    send_status(500, "boom")
    send_message(message.pk)
    attempt = SendAttempt.objects.get(message=message)
    SendAttempt.objects.filter(pk=attempt.pk).update(verify_until=timezone.now())
    query_returns([bb_message(guid="GUID-OLD", text="hi", address="+12025551234")])
    assert verify_once(message.pk, attempt.pk, policy=individual_policy()) == "not_sent"


@responses.activate
def test_attempts_exhausted_fails_with_a_reason(api, relay_line, settings) -> None:
    settings.UNIBOX_REPLY_RETRY_ATTEMPTS = 2
    message = _create(api)
    send_status(500, "boom")
    query_returns([])
    for round_ in range(2):
        with time_machine.travel(timezone.now() + timedelta(minutes=5 * round_)):
            assert send_message(message.pk) == "verifying"
            attempt = SendAttempt.objects.filter(message=message).order_by("-number").first()
            SendAttempt.objects.filter(pk=attempt.pk).update(verify_until=timezone.now())
            verify_once(message.pk, attempt.pk, policy=individual_policy())
    message.refresh_from_db()
    assert message.status == "failed" and message.error_code == "SEND_NOT_CONFIRMED"
    assert "after 2 attempts" in message.error
    assert [a.temp_guid for a in SendAttempt.objects.filter(message=message).order_by("number")] == [
        f"tuco-{message.pk}-1", f"tuco-{message.pk}-2"]


@responses.activate
def test_auth_failure_makes_the_line_unhealthy_and_the_message_wait(api, relay_line) -> None:
    message = _create(api, fromLineId=relay_line.pk)
    send_status(401, "Unauthorized", error_type="Authentication Error")
    assert send_message(message.pk) == "waiting"
    message.refresh_from_db()
    relay_line.refresh_from_db()
    assert relay_line.health_status == "unhealthy" and "password" in relay_line.health_reason
    assert message.status == "queued" and message.queued_reason == "line_unhealthy"
    assert message.attempt_count == 0  # the line's fault does not spend the message's attempts
    assert "relay refused the password" in message.error
    assert send_message(message.pk) == "not_due"


@responses.activate
def test_auth_failure_moves_an_unpinned_message_to_a_healthy_line(api, relay_line, workspace) -> None:
    other_device = DeviceFactory(workspace=workspace, relay_url="http://relay-two.test", relay_password="pw")
    other = LineFactory(workspace=workspace, device=other_device)
    message = _create(api)
    Message.objects.filter(pk=message.pk).update(line=relay_line)
    send_status(401, "Unauthorized", error_type="Authentication Error")
    send_message(message.pk)
    Message.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    responses.post("http://relay-two.test/api/v1/message/text", json={
        "status": 200, "message": "Message sent!", "data": bb_message(guid="G2", text="hi", address="+12025551234")})
    assert send_message(message.pk) == "sent"
    message.refresh_from_db()
    assert message.line_id == other.pk and message.from_line_phone == other.phone


@responses.activate
def test_validation_rejection_fails_the_message(api, relay_line) -> None:
    message = _create(api)
    send_status(400, "The chatGuid field is required.", error_type="Validation Error")
    assert send_message(message.pk) == "failed"
    message.refresh_from_db()
    assert message.status == "failed" and message.error_code == "RELAY_REJECTED"
    assert LineDailyUsage.objects.get(line=relay_line).total_count == 0


def test_dnc_blocks_the_send(api, relay_line, workspace) -> None:
    message = _create(api)
    dnc_add(workspace=workspace, address="+12025551234", reason="manual")
    assert send_message(message.pk) == "blocked"
    message.refresh_from_db()
    assert message.status == "failed" and message.error_code == "DNC_BLOCKED"


@pytest.mark.django_db(transaction=True)
def test_two_claims_one_wins() -> None:
    workspace = WorkspaceFactory()
    line = LineFactory(workspace=workspace)
    message = Message.objects.create(workspace=workspace, line=line, body="x", send_to_address="+12025551234",
                                     status="pending", next_attempt_at=timezone.now())
    barrier = threading.Barrier(2)
    results: list[object] = []

    def claim() -> None:
        try:
            fresh = Message.objects.select_related("line__device").get(pk=message.pk)
            barrier.wait()
            results.append(claim_for_send(fresh, timezone.now(), channel="relay", uses_line=True))
        finally:
            connection.close()

    threads = [threading.Thread(target=claim) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(isinstance(r, Claimed) for r in results) == 1
    assert SendAttempt.objects.filter(message=message).count() == 1
    assert Message.objects.get(pk=message.pk).status == "sending"


def _race(reserve_args: list[dict]) -> list[object]:
    """Run capacity_reserve for each args dict in its own thread and transaction, all at once."""
    from django.db import transaction

    from lines.capacity import CapacityDenied, capacity_reserve

    barrier = threading.Barrier(len(reserve_args))
    results: list[object] = []

    def reserve(kwargs: dict) -> None:
        try:
            line = Line.objects.select_related("device").get(pk=kwargs["line_id"])
            barrier.wait()
            with transaction.atomic():
                results.append(capacity_reserve(line=line, device=line.device, address=kwargs["address"],
                                                lead_id=None, message_id=kwargs["message_id"], now=timezone.now()))
        except CapacityDenied as denied:
            results.append(denied)
        finally:
            connection.close()

    threads = [threading.Thread(target=reserve, args=(a,)) for a in reserve_args]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.django_db(transaction=True)
def test_two_workers_cannot_take_the_last_slot() -> None:
    from lines.capacity import CapacityDenied

    line = LineFactory(workspace=WorkspaceFactory(), daily_total_limit=1)
    results = _race([{"line_id": line.pk, "address": f"+1202555123{i}", "message_id": f"{i:024x}"}
                     for i in range(2)])
    denied = [r for r in results if isinstance(r, CapacityDenied)]
    assert len(denied) == 1 and denied[0].reason == "line_daily_total"
    assert LineDailyUsage.objects.get(line=line).total_count == 1


@pytest.mark.django_db(transaction=True)
def test_lines_on_one_device_share_its_gap() -> None:
    from lines.capacity import CapacityDenied

    workspace = WorkspaceFactory()
    device = DeviceFactory(workspace=workspace, device_gap_seconds=30)
    lines = [LineFactory(workspace=workspace, device=device) for _ in range(3)]
    results = _race([{"line_id": line.pk, "address": "+12025551234", "message_id": f"{i:024x}"}
                     for i, line in enumerate(lines)])
    denied = [r for r in results if isinstance(r, CapacityDenied)]
    assert len(denied) == 2 and {d.reason for d in denied} == {"device_gap"}
    # The losers know exactly when the gap ends.
    last = type(device).objects.get(pk=device.pk).last_send_at
    assert all(d.next_at == last + timedelta(seconds=30) for d in denied)
    # Nothing a loser did survived its rollback.
    assert sum(u.total_count for u in LineDailyUsage.objects.all()) == 1


def test_unhealthy_pinned_line_waits_with_its_reason(api, relay_line) -> None:
    Line.objects.filter(pk=relay_line.pk).update(health_status="unhealthy", health_reason="relay unreachable")
    message = _create(api, fromLineId=relay_line.pk)
    assert send_message(message.pk) == "waiting"
    detail = api.get(f"/api/messages/{message.pk}").json()["message"]
    assert detail["status"] == "queued" and detail["queuedReason"] == "line_unhealthy"
    assert "relay unreachable" in detail["statusExplanation"] and detail["nextAttemptAt"]
