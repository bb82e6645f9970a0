"""The bodies of the message webhooks, built when the event happens (the outbox stores them as sent),
and the one call the state machine makes to record them.

The format (docs/webhooks.md) is the API reference's flat one:
`event, eventId, timestamp, workspaceId, messageId, leadId?` and the event's
own top-level fields, plus a `data` object that is always present:
`data.test` (true only for health-check pings) and, for `message.reply`,
`data.reply` = one item of GET /api/replies.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from messaging.documents import message_document
from messaging.models import Message
from messaging.replies import reply_items
from tuco.timefmt import iso
from webhooks.outbox import outbox_record_event
from webhooks.payloads import envelope

# Extra top-level fields per status event, on top of the common ones.
_EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "message.sent": ("sentAt",),
    "message.delivered": ("sentAt", "deliveredAt"),
    "message.failed": ("error", "errorCode"),
    "message.fallback": ("reason", "checkedAddresses", "fallbackSmsStatus"),
    "message.opened": ("sentAt", "deliveredAt", "readAt"),
}


def status_payload(message: Message, event_type: str, *, at: datetime) -> dict[str, Any]:
    """message.sent / delivered / failed / fallback / opened: `message` is the full message document."""
    doc = message_document(message)
    payload = envelope(event_type, at, message.workspace_id)
    payload["messageId"] = message.pk
    if message.lead_id:
        payload["leadId"] = message.lead_id
    payload.update({
        "status": message.status,
        "messageType": message.message_type,
        "recipientPhone": doc["recipientPhone"],
        "recipientEmail": doc["recipientEmail"],
        "recipientName": doc["recipientName"],
        "lineId": message.line_id,
        "batchId": doc["batchId"],
        "campaignId": doc["campaignId"],
        "stepIndex": doc["stepIndex"],
        "correlationId": doc["correlationId"],
        # Integration fields, as the send response has them.
        "ghlContactId": doc["ghlContactId"],
        "ghlLocationId": doc["ghlLocationId"],
        "hsPortalId": doc["hsPortalId"],
        "hsContactId": doc["hsContactId"],
        "createdByUserId": doc["createdByUserId"],
    })
    for name in _EVENT_FIELDS.get(event_type, ()):
        payload[name] = doc[name]
    payload["message"] = doc
    payload["data"] = {"test": False}
    return payload


def reply_payload(message: Message, *, at: datetime) -> dict[str, Any]:
    """message.reply: `message` is the reply text; `data.reply` is the GET /api/replies item."""
    inbound = Message.objects.select_related("lead", "thread", "reply_to").get(pk=message.pk)
    item = reply_items([inbound])[0]
    payload = envelope("message.reply", at, inbound.workspace_id)
    payload["messageId"] = inbound.pk
    lead = inbound.lead
    if lead is not None:
        payload.update({"leadId": lead.pk, "firstName": lead.first_name or None, "lastName": lead.last_name or None,
                        "phone": lead.phone or None, "listId": lead.list_id})
    payload.update({
        # The campaign and step of the message it answers.
        "campaignId": item["campaignId"],
        "stepIndex": item["stepIndex"],
        "message": inbound.body,
        "status": inbound.status,
        "messageType": inbound.message_type,
        "channel": inbound.message_type,
        "lineId": inbound.line_id,
        "threadId": inbound.thread_id,
        "recipientPhone": item["recipientPhone"],
        "recipientEmail": item["recipientEmail"],
        "replyToMessageId": inbound.reply_to_id,
        "receivedAt": iso(inbound.created_at),
        "attachmentUrls": inbound.attachment_urls,
        "attachmentNames": inbound.attachment_names,
        "data": {"test": False, "reply": item},
    })
    return payload



def event_payload(message: Message, event_type: str, *, at: datetime) -> dict[str, Any]:
    if event_type == "message.reply":
        return reply_payload(message, at=at)
    return status_payload(message, event_type, at=at)


def outbox_record(*, message: Message, event_type: str) -> list[int]:
    """Record `event_type` about `message` for every subscribed endpoint (in the caller's transaction).

    `message` is the row as it is now (for status events, the row returned by the transition); for
    `message.reply` it is the inbound message. Returns the outbox row ids (empty when nobody subscribes).
    """
    return outbox_record_event(workspace_id=message.workspace_id, message_id=message.pk, event_type=event_type,
                               payload=lambda at: event_payload(message, event_type, at=at))
