"""The relay interface the send path talks to (its clients live beside it; lines.relay.client picks one)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class RelayAttachment:
    name: str
    content: bytes
    mime_type: str
    is_audio_message: bool = False


@dataclass
class SentMessage:
    """What the relay knows of one outgoing message."""

    guid: str
    text: str
    address: str
    error: int = 0
    date_created_ms: int = 0
    is_delivered: bool = False
    date_delivered_ms: int | None = None
    date_read_ms: int | None = None
    raw: dict[str, Any] = field(default_factory=dict)


class RelayBackend(Protocol):
    def ping(self) -> None: ...

    def server_info(self) -> dict[str, Any]: ...

    def send_text(self, *, address: str, text: str, temp_guid: str) -> SentMessage: ...

    def send_attachment(self, *, address: str, attachment: RelayAttachment, temp_guid: str) -> SentMessage: ...

    def check_imessage(self, *, address: str) -> bool: ...

    def get_message(self, *, guid: str) -> SentMessage | None: ...

    def find_sent(self, *, address: str, text: str, since_ms: int, attachment_name: str = "") -> list[SentMessage]:
        ...

    def register_webhook(self, *, url: str, events: list[str]) -> dict[str, Any]: ...
