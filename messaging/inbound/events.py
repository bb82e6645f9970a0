"""The one event type every provider callback is normalized into before messaging sees it (the way
django-anymail normalizes tracking events): a relay webhook, a Twilio status callback, a Twilio SMS
reply, a raw email, a polled relay receipt.

Event types:
- REPLY: the recipient wrote to us (`sender`, `text`, `channel`, …).
- SENDING / SENT / DELIVERED / FAILED: a provider's word on one of our sends (`external_id`; Twilio's
  raw status in `provider_status`, its error in `error_code`). A relay's SENT is the device writing
  the row of our send (`temp_guid` names the attempt) and may carry delivery news too.
- UPDATED: news about a row the device already had (`delivered`, `delivered_at`, `read_at`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class EventType(StrEnum):
    REPLY = "reply"
    SENDING = "sending"
    SENT = "sent"
    UPDATED = "updated"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True)
class InboundEvent:
    event_type: EventType
    provider: str  # "relay" | "twilio" | "email"
    # A change to one of our sends.
    external_id: str = ""  # the provider's id of it: relay guid, Twilio MessageSid
    temp_guid: str = ""  # relay: the tempGuid our attempt sent
    delivered: bool = False
    delivered_at: datetime | None = None
    read_at: datetime | None = None
    error_code: str = ""
    provider_status: str = ""
    # A reply.
    channel: str = ""  # imessage | sms | email
    sender: str = ""
    text: str = ""
    received_at: datetime | None = None
    attachment_names: list[str] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)  # email: In-Reply-To then References, nearest first
    subject: str = ""

    @property
    def has_news(self) -> bool:
        """Delivery, read or error facts (a relay's bare first copy of a send has none)."""
        return bool(self.delivered or self.delivered_at or self.read_at or self.error_code)
