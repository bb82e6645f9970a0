"""The relay of a device: every device today is a BlueBubbles server; other relay kinds register here."""

from __future__ import annotations

from lines.models import Device
from lines.relay.base import RelayBackend
from lines.relay.bluebubbles import BlueBubblesClient


def relay_for_device(device: Device, *, private_api: bool | None = None, line_id: str | None = None) -> RelayBackend:
    """Every device today is a BlueBubbles server; other relay kinds register here.

    `line_id`: the line the calls are for (the `line` label of the relay metrics); device-wide calls
    (health pings) are labelled `device:<id>`."""
    return BlueBubblesClient(base_url=device.relay_url, password=device.relay_password,
                             private_api=device.private_api if private_api is None else private_api,
                             chat_prefix=device.chat_guid_prefix or "iMessage",
                             metrics_label=line_id or f"device:{device.pk}")
