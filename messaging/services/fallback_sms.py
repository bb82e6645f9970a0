"""POST /api/fallback-sms: an SMS through the workspace's fallback provider, now.

It is POST /api/messages with `forceFallback: true` (messaging.services.forced
answers it), narrowed to what an SMS can use: the request is parsed by
`parse_send_request`, so every field keeps its spec text and order.
"""

from __future__ import annotations

from typing import Any

from messaging.send_input import SendRequest, parse_send_request
from tuco.body_fields import require_json_object
from tuco.errors import BadRequest

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
