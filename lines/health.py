"""Line health: a relay that refuses us or cannot be reached makes its lines unhealthy until it answers again."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils import timezone

from lines.models import Device, Line
from lines.relay.client import relay_for_device
from lines.relay.registration import relay_webhook_register
from tuco.logging import get_logger
from tuco.send_errors import SendError

log = get_logger(__name__)


def device_mark_unhealthy(*, device_id: str, reason: str) -> int:
    """Every line on the device shares its relay, so they all go unhealthy together."""
    changed = Line.objects.filter(device_id=device_id).filter(
        ~Q(health_status=Line.Health.UNHEALTHY) | ~Q(health_reason=reason[:500])
    ).update(health_status=Line.Health.UNHEALTHY, health_reason=reason[:500], health_checked_at=timezone.now())
    if changed:
        log.warning("line.unhealthy", deviceId=device_id, reason=reason, lines=changed)
    return changed


def device_check(device: Device) -> str | None:
    """Ping the relay and read its info; returns None when healthy, else the reason."""
    relay = relay_for_device(device)
    try:
        relay.ping()
        info = relay.server_info()
    except SendError as exc:
        return str(exc)
    os_version = str(info.get("os_version") or "")
    updates: dict[str, object] = {}
    if os_version and os_version != device.os_version:
        updates["os_version"] = os_version
        # macOS 26 (Tahoe) writes DM chats as any;-;… (bluebubbles-api.md §9).
        major = os_version.split(".", 1)[0]
        updates["chat_guid_prefix"] = "any" if major.isdigit() and int(major) >= 26 else "iMessage"
    if updates:
        Device.objects.filter(pk=device.pk).update(**updates)
    if device.private_api and not (info.get("private_api") and info.get("helper_connected")):
        return "Private API helper is not connected"
    return None


def lines_health_check() -> dict[str, Any]:
    """Re-check every device with an unhealthy line (and register missing webhooks). `healedDevices`:
    the devices that answer again (messaging wakes the messages that waited on them)."""
    now = timezone.now()
    healed = still_down = registered = 0
    healed_devices: list[str] = []
    devices = Device.objects.filter(lines__health_status=Line.Health.UNHEALTHY).distinct()
    for device in devices:
        reason = device_check(device)
        if reason is None:
            healed += Line.objects.filter(device=device, health_status=Line.Health.UNHEALTHY).update(
                health_status=Line.Health.HEALTHY, health_reason="", health_checked_at=now)
            log.info("line.healthy", deviceId=device.pk)
            healed_devices.append(device.pk)
        else:
            still_down += 1
            Line.objects.filter(device=device).update(health_checked_at=now, health_reason=reason[:500])
    for line in Line.objects.select_related("device").filter(
            webhook_registered_at__isnull=True, channel_type=Line.Channel.PHONE, is_active=True,
            health_status=Line.Health.HEALTHY):
        if relay_webhook_register(line=line):
            registered += 1
    return {"healed": healed, "stillDown": still_down, "webhooksRegistered": registered,
            "healedDevices": healed_devices}

