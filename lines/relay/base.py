"""The relay interface the send path talks to, and the registry of relay kinds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from lines.models import Device


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


def relay_for_device(device: Device, *, private_api: bool | None = None) -> RelayBackend:
    """Every device today is a BlueBubbles server; other relay kinds register here."""
    from lines.relay.bluebubbles import BlueBubblesClient

    return BlueBubblesClient(base_url=device.relay_url, password=device.relay_password,
                             private_api=device.private_api if private_api is None else private_api,
                             chat_prefix=device.chat_guid_prefix or "iMessage")
