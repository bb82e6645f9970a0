"""BlueBubbles webhook payloads (and polled message rows) → InboundEvent.

A relay posts each event to every line registered on it and may repeat events; the first, bare copy
of every send (no tempGuid, no news) carries nothing the tempGuid copy does not, and is dropped here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lines.relay.base import SentMessage
from messaging.inbound.events import EventType, InboundEvent

RELAY = "relay"


def _ms(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC) if value else None
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _outgoing(event_type: EventType, data: dict[str, Any]) -> InboundEvent:
    error = data.get("error")
    return InboundEvent(event_type, RELAY, external_id=str(data.get("guid") or ""),
                        temp_guid=str(data.get("tempGuid") or ""), delivered=bool(data.get("isDelivered")),
                        delivered_at=_ms(data.get("dateDelivered")), read_at=_ms(data.get("dateRead")),
                        error_code=str(error) if error else "")


def relay_event(event_type: str, data: Any) -> InboundEvent | None:
    """The event a BlueBubbles webhook (type, data) reports, or None when there is nothing in it for us."""
    if not isinstance(data, dict):
        return None
    if event_type == "new-message":
        if data.get("isFromMe"):
            event = _outgoing(EventType.SENT, data)
            return event if event.temp_guid or event.has_news else None
        return _reply(data)
    if event_type == "updated-message":
        return _outgoing(EventType.UPDATED, data) if data.get("isFromMe", True) else None
    if event_type == "message-send-error":
        return _outgoing(EventType.FAILED, data)
    return None


def _reply(data: dict[str, Any]) -> InboundEvent | None:
    handle = data.get("handle")
    sender = str(handle.get("address") or "") if isinstance(handle, dict) else ""
    guid = str(data.get("guid") or "")
    if not sender or not guid:
        return None
    listed = data.get("attachments")
    attachments = [str(a.get("transferName") or a.get("guid") or "") for a in listed
                   if isinstance(a, dict)] if isinstance(listed, list) else []
    return InboundEvent(EventType.REPLY, RELAY, external_id=guid, channel="imessage", sender=sender,
                        text=str(data.get("text") or ""), received_at=_ms(data.get("dateCreated")),
                        attachment_names=attachments)


def polled_row_event(row: SentMessage) -> InboundEvent | None:
    """A message row read back from the relay (receipt polling), as the webhook would have said it."""
    return relay_event("message-send-error" if row.error else "updated-message", {**row.raw, "isFromMe": True})
