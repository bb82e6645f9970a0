"""The channels a message can go out on, each behind the one `Channel` interface (base.py), and the
choice between them: forceFallback → the fallback SMS provider; otherwise by `messageType`."""

from __future__ import annotations

from messaging.models import Message, MessageType
from messaging.send.channels.base import Channel
from messaging.send.channels.email import EmailChannel
from messaging.send.channels.forced_fallback import ForcedFallbackChannel
from messaging.send.channels.imessage import IMessageChannel
from messaging.send.channels.sms import SmsChannel

BY_MESSAGE_TYPE: dict[str, Channel] = {
    MessageType.IMESSAGE: IMessageChannel(),
    MessageType.SMS: SmsChannel(),
    MessageType.EMAIL: EmailChannel(),
}
FORCED_FALLBACK: Channel = ForcedFallbackChannel()


def channel_for(message: Message) -> Channel:
    if message.force_fallback:
        return FORCED_FALLBACK
    return BY_MESSAGE_TYPE[message.message_type]


__all__ = ["Channel", "channel_for"]
