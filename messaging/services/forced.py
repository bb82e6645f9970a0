"""forceFallback in the request: the send never touches iMessage, and the caller learns at once
whether the fallback went out (spec: always 200, `success` says, errors are channel-tagged).

POST /api/fallback-sms is POST /api/messages with `forceFallback: true`, narrowed to what an SMS can
use: the request is parsed by `parse_send_request`, so every field keeps its spec text and order.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from messaging.documents import message_document
from messaging.models import FallbackStatus, Message, Status
from messaging.send.channels.forced_fallback import force_fallback
from messaging.send.fallback import RETRYING
from messaging.send.pacing import block_dnc, schedule_gate, window_gate
from messaging.send.worker import enqueue_dispatch
from messaging.send_input import SendRequest, parse_send_request
from tuco.body_fields import require_json_object
from tuco.errors import BadRequest


def forced_fallback_response(message: Message) -> dict[str, Any]:
    now = timezone.now()
    if schedule_gate(message, now) or window_gate(message, now):
        # Not yet: the worker sends the fallback when the schedule/window allows (same exactly-once path).
        enqueue_dispatch(message.pk)
        return {"success": True, "status": message.status, "message": message_document(message),
                "leadId": message.lead_id}
    if block_dnc(message):
        blocked = Message.objects.get(pk=message.pk)
        return {"success": False, "status": blocked.status, "message": message_document(blocked),
                "leadId": blocked.lead_id, "error": f"fallback: {blocked.error}", "code": blocked.error_code,
                "channel": "fallback"}
    moved, outcome = force_fallback(message.pk, from_statuses=(Status.PENDING,), inline=True)
    if moved is None or outcome is None:  # a worker got there first; it runs the same exactly-once dispatch
        current = Message.objects.get(pk=message.pk)
        return {"success": True, "status": current.status, "message": message_document(current),
                "leadId": current.lead_id}
    body: dict[str, Any] = {"success": outcome.sent, "status": moved.status, "message": message_document(moved),
                            "leadId": moved.lead_id}
    if not outcome.sent:
        channel = outcome.provider or "fallback"
        body.update(error=f"{channel}: {outcome.error_text or 'fallback not sent'}", code=outcome.error_code or None,
                    channel=channel)
        if outcome.status == FallbackStatus.PENDING:  # one try failed in a way that may be retried
            body.update(error=f"{body['error']}. {RETRYING}: message.fallbackSmsStatus and the webhooks say how "
                              "it ends", retrying=True)
    return body


# The POST /api/messages fields that mean something for an immediate SMS; anything else is ignored (no email,
# no line, no schedule or window: it goes out in the request).
FALLBACK_SMS_FIELDS = ("message", "recipientPhone", "leadId", "recipientName", "correlationId", "batchId",
                       "attachmentUrls")
PHONE_REQUIRED = "recipientPhone or a leadId with a phone number is required: a fallback SMS goes to a phone"


def fallback_sms_request(data: Any) -> SendRequest:
    require_json_object(data)
    fields = {key: data[key] for key in FALLBACK_SMS_FIELDS if key in data}
    send = parse_send_request({**fields, "messageType": "sms", "forceFallback": True})
    if not send.recipient_phone and not send.lead_id:
        # A lead without a phone is refused by message_create (recipientPhone is required for sms messages).
        raise BadRequest(PHONE_REQUIRED, code="RECIPIENT_REQUIRED")
    return send
