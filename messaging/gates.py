"""Pre-send checks that need no reservation: schedule, send window, line state, per-line FIFO.

Each check returns None (passes) or a `Block` naming the reason and the
earliest moment it can pass — computed from the rule, never guessed. The
capacity gates (limits and gaps) are reservations and live in lines.capacity.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q

from lines.models import Line
from messaging.models import Direction, Message, Status
from messaging.windows import blocking_reason, next_open, window_from

# How soon a message that yielded to an older one on its line looks again.
FIFO_RECHECK = timedelta(seconds=1)


@dataclass
class Block:
    reason: str
    next_at: datetime
    detail: str = ""
    line_id: str | None = None


def schedule_gate(message: Message, now: datetime) -> Block | None:
    if message.scheduled_date and message.scheduled_date > now:
        return Block("scheduled", message.scheduled_date)
    return None


def window_gate(message: Message, now: datetime) -> Block | None:
    window = window_from(timezone=message.timezone, start=message.send_window_start, end=message.send_window_end,
                         days=message.allowed_days_of_week)
    if window is None:
        return None
    opens = next_open(window, now)
    if opens <= now:
        return None
    detail = f"{message.send_window_start or '00:00'}-{message.send_window_end or '24:00'} {message.timezone or 'UTC'}"
    return Block(blocking_reason(window, now), opens, detail)


def line_state_gate(line: Line, now: datetime) -> Block | None:
    recheck = now + timedelta(seconds=settings.TUCO_LINE_RECHECK_SECONDS)
    if not line.is_active:
        return Block("line_inactive", recheck, "line is inactive", line.pk)
    if not line.is_healthy:
        return Block("line_unhealthy", recheck, line.health_reason or "relay unreachable", line.pk)
    return None


def fifo_gate(message: Message, line: Line, now: datetime) -> Block | None:
    """Per-line FIFO: yield while an older message on the same line is due now.

    Messages waiting for a reason of their own (scheduledDate, window, a gap
    that only applies to new contacts) have a future next_attempt_at and do not
    hold the line; the oldest due message always goes first.
    """
    older = Message.objects.filter(
        line_id=line.pk, status__in=(Status.PENDING, Status.QUEUED), next_attempt_at__lte=now,
        direction=Direction.OUTBOUND,
    ).filter(Q(created_at__lt=message.created_at) | Q(created_at=message.created_at, id__lt=message.pk))
    if older.exists():
        return Block("line_busy", now + FIFO_RECHECK, "an older message on this line goes first", line.pk)
    return None


def movable(message: Message) -> bool:
    """The engine may move a message to another line unless the integrator chose the line or the
    recipient already heard from this one (sticky sender)."""
    if message.line_pinned:
        return False
    return not Message.objects.filter(
        thread_id=message.thread_id, direction=Direction.OUTBOUND,
        status__in=(Status.SENT, Status.DELIVERED), line_id=message.line_id,
    ).exists()


def candidate_lines(message: Message) -> Iterator[Line]:
    """The message's line first; then, if it may move, the workspace's other active healthy lines.

    The claim tries them in order, so a movable message whose line is out of
    capacity, in its gap or unhealthy goes out on another line with room now.
    """
    current = message.line
    if current is None:
        return
    yield current
    # Only looked up when the first line could not take the message.
    if movable(message):
        yield from Line.objects.select_related("device").filter(
            workspace_id=message.workspace_id, is_active=True, health_status=Line.Health.HEALTHY,
            channel_type=current.channel_type,
        ).exclude(pk=current.pk).order_by("id")
