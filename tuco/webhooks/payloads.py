"""Webhook bodies, built when the event happens (the outbox stores them as sent).

The format (docs/webhooks.md) is the API reference's flat one:
`event, eventId, timestamp, workspaceId, messageId, leadId?` and the event's
own top-level fields, plus a `data` object that is always present:
`data.test` (true only for health-check pings) and, for `message.reply`,
`data.reply` = one item of GET /api/replies.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from messaging.models import Message
from tuco.timefmt import iso

HEALTH_CHECK_TEXT = "This is a health check test webhook from Tuco AI"

# Extra top-level fields per status event, on top of the common ones.
_EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "message.sent": ("sentAt",),
    "message.delivered": ("sentAt", "deliveredAt"),
    "message.failed": ("error", "errorCode"),
    "message.fallback": ("reason", "checkedAddresses", "fallbackSmsStatus"),
    "message.opened": ("sentAt", "deliveredAt", "readAt"),
}


def _envelope(event_type: str, at: datetime, workspace_id: str) -> dict[str, Any]:
    # eventId is filled per endpoint by with_event_id (one outbox row per endpoint).
    return {"event": event_type, "eventId": "", "timestamp": iso(at), "workspaceId": workspace_id}


def status_payload(message: Message, event_type: str, *, at: datetime) -> dict[str, Any]:
    """message.sent / delivered / failed / fallback / opened: `message` is the full message document."""
    from messaging.documents import message_document

    doc = message_document(message)
    payload = _envelope(event_type, at, message.workspace_id)
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
        "correlationId": doc["correlationId"],
    })
    for name in _EVENT_FIELDS.get(event_type, ()):
        payload[name] = doc[name]
    payload["message"] = doc
    payload["data"] = {"test": False}
    return payload


def reply_payload(message: Message, *, at: datetime) -> dict[str, Any]:
    """message.reply: `message` is the reply text; `data.reply` is the GET /api/replies item."""
    from messaging.replies import reply_items

    inbound = Message.objects.select_related("lead", "thread").get(pk=message.pk)
    item = reply_items([inbound])[0]
    payload = _envelope("message.reply", at, inbound.workspace_id)
    payload["messageId"] = inbound.pk
    lead = inbound.lead
    if lead is not None:
        payload.update({"leadId": lead.pk, "firstName": lead.first_name or None, "lastName": lead.last_name or None,
                        "phone": lead.phone or None, "listId": lead.list_id})
    payload.update({
        "campaignId": None,
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


def health_check_payload(*, event_type: str, workspace_id: str, at: datetime, event_id: str) -> dict[str, Any]:
    return with_event_id({**_envelope(event_type, at, workspace_id),
                          "data": {"test": True, "message": HEALTH_CHECK_TEXT}}, event_id)


def with_event_id(payload: dict[str, Any], event_id: str) -> dict[str, Any]:
    return {**payload, "eventId": event_id}  # keeps the key's place right after "event"
