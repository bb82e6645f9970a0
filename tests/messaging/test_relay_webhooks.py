"""POST /hooks/bluebubbles/<lineId>: confirmations, delivery, read, send errors, replies, opt-out."""

from __future__ import annotations

import pytest
import responses
from django.test import Client
from django.utils import timezone

from leads.models import DncEntry
from messaging.models import Message, SendAttempt, Status, Thread
from tests.factories import DeviceFactory, LineFactory, MessageFactory
from tests.messaging.relay_mocks import RELAY, bb_message

pytestmark = pytest.mark.django_db


@pytest.fixture
def relay_line(workspace):
    device = DeviceFactory(workspace=workspace, relay_url=RELAY, relay_password="pw")
    return LineFactory(workspace=workspace, device=device, phone="+14155550100")


def _post(line, event_type: str, data: dict, *, secret: str | None = None) -> object:
    return Client().post(f"/hooks/bluebubbles/{line.pk}?secret={secret or line.webhook_secret}",
                         {"type": event_type, "data": data}, content_type="application/json")


def _sending_message(workspace, line, *, guid: str = "") -> tuple[Message, SendAttempt]:
    message = MessageFactory(workspace=workspace, line=line, status=Status.SENDING, external_message_id=guid,
                             sending_since=timezone.now(), attempt_count=1)
    attempt = SendAttempt.objects.create(message=message, number=1, line=line, started_at=timezone.now(),
                                         temp_guid=f"tuco-{message.pk}-1", to_address=message.send_to_address)
    return message, attempt


def test_wrong_secret_or_unknown_line_is_404(relay_line) -> None:
    assert _post(relay_line, "new-message", {}, secret="nope").status_code == 404
    response = Client().post("/hooks/bluebubbles/667f1f77bcf86cd799439011?secret=x", {},
                             content_type="application/json")
    assert response.status_code == 404
    bad = Client().post(f"/hooks/bluebubbles/{relay_line.pk}?secret={relay_line.webhook_secret}", "{not json",
                        content_type="application/json")
    assert bad.status_code == 400


def test_new_message_with_temp_guid_confirms_a_send_in_flight(workspace, relay_line) -> None:
    message, attempt = _sending_message(workspace, relay_line)
    data = bb_message(guid="GUID-T", text=message.body, address=message.send_to_address, tempGuid=attempt.temp_guid)
    assert _post(relay_line, "new-message", data).json()["result"] == "confirmed"
    message.refresh_from_db()
    assert message.status == "sent" and message.external_message_id == "GUID-T"
    # The same event again (every line on the device gets it) changes nothing, and costs one query.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert _post(relay_line, "new-message", data).json()["result"] == "noop"
    assert len(queries) == 2, [q["sql"] for q in queries]  # the line, the attempt
    assert message.events.filter(to_status="sent").count() == 1
    # The bare first copy (no tempGuid, nothing delivered yet) carries no news.
    bare = {k: v for k, v in data.items() if k != "tempGuid"}
    assert _post(relay_line, "new-message", bare).json()["result"] == "ignored"


def test_delivered_then_read_and_never_backwards(workspace, relay_line) -> None:
    message = MessageFactory(workspace=workspace, line=relay_line, status=Status.SENT, external_message_id="G-1",
                             sent_at=timezone.now())
    delivered = bb_message(guid="G-1", text="x", address="+12025550100", isDelivered=True,
                           dateDelivered=1_900_000_001_000)
    assert _post(relay_line, "updated-message", delivered).json()["result"] == "delivered"
    message.refresh_from_db()
    assert message.status == "delivered" and int(message.delivered_at.timestamp()) == 1_900_000_001
    read = {**delivered, "dateRead": 1_900_000_002_000}
    assert _post(relay_line, "updated-message", read).json()["result"] == "read"
    message.refresh_from_db()
    assert message.read_at is not None and message.status == "delivered"
    # A late "sent" confirmation cannot move it back.
    from messaging.send.state import mark_sent

    assert mark_sent(message.pk, guid="G-1", via="late") is None
    assert Message.objects.get(pk=message.pk).status == "delivered"


def test_unknown_guid_answers_200(relay_line) -> None:
    response = _post(relay_line, "updated-message", bb_message(guid="NOPE", text="x", address="+1", isDelivered=True))
    assert response.status_code == 200 and response.json()["result"] == "unknown"


@responses.activate
def test_send_error_after_acceptance_is_verified_then_retried(workspace, relay_line) -> None:
    message = MessageFactory(workspace=workspace, line=relay_line, status=Status.SENT, external_message_id="G-E",
                             sent_at=timezone.now(), attempt_count=1,
                             attachment_urls=["https://cdn.test/a.png"],
                             parts_sent={"attachment:0": "G-A", "text": "G-E"})
    SendAttempt.objects.create(message=message, number=1, line=relay_line, started_at=timezone.now(),
                               outcome="sent", external_id="G-E")
    responses.get(f"{RELAY}/api/v1/message/G-E", json={"status": 200, "message": "Success",
                                                       "data": bb_message(guid="G-E", text="x", address="+1", error=4)})
    result = _post(relay_line, "message-send-error", bb_message(guid="G-E", text="x", address="+1", error=4))
    assert result.json()["result"] == "retrying"
    message.refresh_from_db()
    assert message.status == "queued" and message.queued_reason == "retry_wait"
    assert message.external_message_id == "" and message.sent_at is None
    # The errored text part will be sent again; the attachment that did go out will not.
    assert message.parts_sent == {"attachment:0": "G-A"}
    assert SendAttempt.objects.get(message=message).outcome == "not_sent"


def test_inbound_reply_joins_the_thread_and_stop_opts_out(api, workspace, relay_line) -> None:
    response = api.post("/api/messages", {"message": "Hello there", "recipientPhone": "+12025551234",
                                          "fromLineId": relay_line.pk}, format="json")
    outbound = Message.objects.get(pk=response.json()["message"]["_id"])
    inbound = {**bb_message(guid="IN-1", text="Sounds good", address="+12025551234"), "isFromMe": False}
    assert _post(relay_line, "new-message", inbound).json()["result"] == "received"
    reply = Message.objects.get(direction="inbound")
    assert reply.thread_id == outbound.thread_id and reply.reply_to_id == outbound.pk
    assert reply.lead_id == outbound.lead_id and reply.status == "received" and reply.body == "Sounds good"
    assert Thread.objects.get(pk=outbound.thread_id).unread_count == 1
    # Posted again (another line on the same device, or a repeat): stored once.
    assert _post(relay_line, "new-message", inbound).json()["result"] == "duplicate"
    assert Message.objects.filter(direction="inbound").count() == 1
    stop = {**bb_message(guid="IN-2", text="  stop! ", address="+12025551234"), "isFromMe": False}
    _post(relay_line, "new-message", stop)
    assert DncEntry.objects.filter(workspace=workspace, address="+12025551234", reason="opt_out_reply").exists()
    # ... and the next send to that address is refused.
    from messaging.send.dispatcher import send_message

    later = api.post("/api/messages", {"message": "One more thing", "recipientPhone": "+12025551234"}, format="json")
    # The earlier message still waiting in this conversation goes (is refused) first, then the new one.
    assert send_message(later.json()["message"]["_id"]) == "waiting"
    assert send_message(outbound.pk) == "blocked"
    Message.objects.filter(pk=later.json()["message"]["_id"]).update(next_attempt_at=timezone.now())
    assert send_message(later.json()["message"]["_id"]) == "blocked"
    assert Message.objects.get(pk=later.json()["message"]["_id"]).error_code == "DNC_BLOCKED"


def test_not_an_opt_out_when_the_keyword_is_inside_a_sentence(workspace, relay_line) -> None:
    inbound = {**bb_message(guid="IN-3", text="Don't stop sending me deals", address="+12025551234"),
               "isFromMe": False}
    _post(relay_line, "new-message", inbound)
    assert not DncEntry.objects.exists()


@responses.activate
def test_a_lost_delivery_webhook_is_reconciled_by_polling(workspace, relay_line) -> None:
    from datetime import timedelta

    from messaging.inbound.receipts import reconcile_receipts

    sent_at = timezone.now() - timedelta(minutes=5)
    message = MessageFactory(workspace=workspace, line=relay_line, status=Status.SENT, external_message_id="G-LOST",
                             sent_at=sent_at)
    responses.get(f"{RELAY}/api/v1/message/G-LOST", json={"status": 200, "message": "Success", "data": bb_message(
        guid="G-LOST", text="x", address="+1", isDelivered=True, dateDelivered=1_900_000_001_000)})
    assert reconcile_receipts() == {"checked": 1, "changed": 1, "unreachable": 0}
    message.refresh_from_db()
    assert message.status == "delivered" and message.receipt_checked_at is not None
    assert reconcile_receipts() == {"checked": 0, "changed": 0, "unreachable": 0}  # delivered: not polled again
