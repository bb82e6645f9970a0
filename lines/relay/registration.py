"""Registering a line's inbound webhook with its relay (BlueBubbles 1.9.9+ webhook API)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings

from lines.models import Line
from lines.relay.client import relay_for_device
from tuco.logging import get_logger
from tuco.send_errors import SendError

log = get_logger(__name__)

RELAY_EVENTS = ["new-message", "updated-message", "message-send-error"]


def relay_webhook_url(line: Line) -> str:
    return f"{settings.TUCO_PUBLIC_URL}/hooks/bluebubbles/{line.pk}?{urlencode({'secret': line.webhook_secret})}"


def relay_webhook_register(*, line: Line) -> bool:
    """Ask the relay to post its events for this line to us. False (logged) when the relay can't be reached;
    the registration is idempotent on the relay side (an existing URL is kept)."""
    assert line.device is not None
    try:
        relay = relay_for_device(line.device, line_id=line.pk)
        relay.register_webhook(url=relay_webhook_url(line), events=RELAY_EVENTS)
    except SendError as exc:
        log.warning("line.webhook_register_failed", lineId=line.pk, error=str(exc))
        return False
    from django.utils import timezone

    Line.objects.filter(pk=line.pk).update(webhook_registered_at=timezone.now())
    log.info("line.webhook_registered", lineId=line.pk)
    return True
