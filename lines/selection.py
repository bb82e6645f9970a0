"""Which line sends a message when the integrator did not say (round-robin, sticky sender)."""

from __future__ import annotations

import random
from collections.abc import Sequence

from django.core.cache import cache

from lines.models import Line
from tuco.logging import get_logger

log = get_logger(__name__)


def channel_for_message_type(message_type: str) -> str | None:
    """The line channel a message type needs; None when no line is required (SMS goes via Twilio)."""
    return {"imessage": Line.Channel.PHONE, "email": Line.Channel.EMAIL}.get(message_type)


def active_lines(*, workspace_id: str, channel: str) -> list[Line]:
    return list(
        Line.objects.filter(workspace_id=workspace_id, is_active=True, channel_type=channel).order_by("id")
    )


def line_round_robin(*, workspace_id: str, lines: Sequence[Line]) -> Line:
    """The next line in turn for this workspace (a Redis counter shared by every web process)."""
    if len(lines) == 1:
        return lines[0]
    key = f"rr:lines:{workspace_id}"
    try:
        turn = cache.incr(key)
    except ValueError:
        cache.add(key, 0, timeout=None)
        turn = cache.incr(key)
    except Exception as exc:  # Redis down: any line is better than refusing the message
        log.warning("lines.round_robin.redis_unavailable", error=str(exc))
        return random.choice(list(lines))
    return lines[turn % len(lines)]
