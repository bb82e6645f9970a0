"""The outbox: event rows written with the status change, payload snapshots, who gets what."""

from __future__ import annotations

import json

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from messaging.models import Direction, Message, Status, Thread
from messaging.replies import reply_items
from messaging.send.state import emit_webhook_for, transition
from messaging.webhook_events import outbox_record
from tests.factories import LeadFactory, LineFactory, WorkspaceFactory
from tests.webhooks.conftest import events_of, make_endpoint, mark_delivered, mark_sent, sending_message
from webhooks.models import WebhookEndpoint, WebhookEvent

pytestmark = pytest.mark.django_db


def test_a_status_change_records_one_event_per_subscribed_endpoint(workspace, receiver, enqueued,
                                                                   django_capture_on_commit_callbacks) -> None:
    all_events = make_endpoint(workspace, receiver.url)
    only_sent = make_endpoint(workspace, receiver.url, events=("message.sent",))
    make_endpoint(workspace, receiver.url, events=("message.reply",))
    make_endpoint(WorkspaceFactory(), receiver.url)  # another workspace hears nothing
    message = sending_message(workspace)
    with django_capture_on_commit_callbacks(execute=True):
        mark_sent(message)
    rows = events_of(message)
    assert sorted(r.endpoint_id for r in rows) == sorted([all_events.pk, only_sent.pk])
    assert {r.event_type for r in rows} == {"message.sent"}
    assert len({r.event_id for r in rows}) == 2
    # The delivery is handed to the broker only after commit, once per row.
    assert sorted(pk for pk, _ in enqueued) == sorted(r.pk for r in rows)

    mark_delivered(message)
    assert [r.event_type for r in events_of(message) if r.endpoint_id == all_events.pk] == [
        "message.sent", "message.delivered"]
    assert [r.event_type for r in events_of(message) if r.endpoint_id == only_sent.pk] == ["message.sent"]


def test_nothing_is_enqueued_before_commit(workspace, endpoint, enqueued) -> None:
    message = sending_message(workspace)
    with transaction.atomic():
        mark_sent(message)
        assert WebhookEvent.objects.filter(message_id=message.pk).count() == 1
        assert enqueued == []


def test_the_event_rolls_back_with_the_status_change(workspace, endpoint) -> None:
    message = sending_message(workspace)
    with pytest.raises(RuntimeError), transaction.atomic():
        mark_sent(message)
        raise RuntimeError("the caller's transaction fails")
    assert WebhookEvent.objects.count() == 0
    assert Message.objects.get(pk=message.pk).status == Status.SENDING


def test_without_endpoints_it_costs_one_query(workspace) -> None:
    message = sending_message(workspace)
    with CaptureQueriesContext(connection) as queries:
        assert outbox_record(message=message, event_type="message.sent") == []
    assert len(queries) == 1


def test_paused_endpoints(workspace, receiver) -> None:
    by_user = make_endpoint(workspace, receiver.url, is_active=False, paused_by=WebhookEndpoint.PausedBy.USER)
    by_failures = make_endpoint(workspace, receiver.url, is_active=False,
                                paused_by=WebhookEndpoint.PausedBy.FAILURES)
    message = sending_message(workspace)
    mark_sent(message)
    # Paused on purpose records nothing; auto-paused keeps the events waiting for re-activation.
    assert [r.endpoint_id for r in events_of(message)] == [by_failures.pk]
    assert by_user.outbox.count() == 0


def test_status_payload_is_a_snapshot_of_the_event(workspace, endpoint) -> None:
    lead = LeadFactory(workspace=workspace)
    message = sending_message(workspace, lead=lead, batch_id="b-1")
    mark_sent(message)
    mark_delivered(message)
    sent, delivered = events_of(message)
    body = json.loads(sent.body)
    assert list(body)[:4] == ["event", "eventId", "timestamp", "workspaceId"]
    assert body["event"] == "message.sent" and body["eventId"] == sent.event_id
    assert body["messageId"] == message.pk and body["leadId"] == lead.pk
    assert body["status"] == "sent" and body["message"]["status"] == "sent"  # not "delivered": a snapshot
    assert body["message"]["_id"] == message.pk and body["message"]["batchId"] == "b-1"
    assert body["sentAt"] == body["message"]["sentAt"] is not None
    assert body["data"] == {"test": False}
    assert json.loads(delivered.body)["status"] == "delivered"


def test_lead_id_is_omitted_when_there_is_no_lead(workspace, endpoint) -> None:
    message = sending_message(workspace)
    mark_sent(message)
    assert "leadId" not in events_of(message)[0].payload


def test_failed_and_fallback_carry_their_reasons(workspace, endpoint) -> None:
    failed = sending_message(workspace)
    transition(failed.pk, to="failed", fields={"error": "relay said no", "error_code": "SEND_ERROR"})
    body = events_of(failed)[0].payload
    assert (body["event"], body["error"], body["errorCode"]) == ("message.failed", "relay said no", "SEND_ERROR")
    fallback = sending_message(workspace)
    transition(fallback.pk, to="fallback", fields={"fallback_reason": "not on iMessage",
                                                   "checked_addresses": ["+12025550100"]})
    body = events_of(fallback)[0].payload
    assert body["reason"] == "not on iMessage" and body["checkedAddresses"] == ["+12025550100"]


def test_opened_is_recorded_once_per_message(workspace, endpoint) -> None:
    message = mark_sent(sending_message(workspace))
    Message.objects.filter(pk=message.pk).update(read_at=timezone.now())
    message.refresh_from_db()
    for _ in range(3):  # relays repeat read receipts
        emit_webhook_for(message, "message.opened")
    opened = [e for e in events_of(message) if e.event_type == "message.opened"]
    assert len(opened) == 1
    assert opened[0].payload["readAt"] is not None and opened[0].payload["message"]["readAt"] is not None


def _inbound(workspace, *, lead=None, thread=None, line=None, reply_to=None, body="Yes, interested!") -> Message:
    return Message.objects.create(workspace=workspace, direction=Direction.INBOUND, status=Status.RECEIVED,
                                  body=body, lead=lead, thread=thread, line=line, reply_to=reply_to,
                                  recipient_phone=lead.phone if lead else "", message_type="imessage")


def test_reply_payload_embeds_the_replies_api_item(workspace, endpoint) -> None:
    lead = LeadFactory(workspace=workspace, first_name="Jane", last_name="Smith")
    line = LineFactory(workspace=workspace)
    thread = Thread.objects.create(workspace=workspace, address=lead.phone, lead=lead, line=line)
    outbound = mark_sent(sending_message(workspace, lead=lead, line=line, thread=thread))
    inbound = _inbound(workspace, lead=lead, thread=thread, line=line, reply_to=outbound)
    emit_webhook_for(inbound, "message.reply")
    (event,) = WebhookEvent.objects.filter(event_type="message.reply")
    body = event.payload
    assert event.message_id == inbound.pk
    assert body["event"] == "message.reply" and body["message"] == "Yes, interested!"
    assert body["messageId"] == inbound.pk and body["leadId"] == lead.pk
    assert (body["firstName"], body["lastName"], body["phone"]) == ("Jane", "Smith", lead.phone)
    assert body["lineId"] == line.pk and body["replyToMessageId"] == outbound.pk
    assert body["data"]["test"] is False
    reply = body["data"]["reply"]
    # Identical to what GET /api/replies returns for this lead.
    api_item = reply_items([Message.objects.select_related("lead", "thread").get(pk=inbound.pk)])[0]
    assert reply == json.loads(json.dumps(api_item))
    assert reply["parentMessages"][0]["messageId"] == outbound.pk
    assert reply["recentReplies"][0]["messageId"] == inbound.pk


def test_reply_without_a_lead_omits_lead_fields(workspace, endpoint) -> None:
    inbound = _inbound(workspace, body="who is this?")
    emit_webhook_for(inbound, "message.reply")
    body = WebhookEvent.objects.get(event_type="message.reply").payload
    assert "leadId" not in body and "firstName" not in body
    assert body["data"]["reply"]["parentMessages"] == []
