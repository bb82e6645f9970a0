"""The relay of a device: every device today is a BlueBubbles server; other relay kinds register here."""

from __future__ import annotations

from lines.models import Device
from lines.relay.base import RelayBackend
from lines.relay.bluebubbles import BlueBubblesClient


def relay_for_device(device: Device, *, private_api: bool | None = None) -> RelayBackend:
    """Every device today is a BlueBubbles server; other relay kinds register here."""
    return BlueBubblesClient(base_url=device.relay_url, password=device.relay_password,
                             private_api=device.private_api if private_api is None else private_api,
                             chat_prefix=device.chat_guid_prefix or "iMessage")
