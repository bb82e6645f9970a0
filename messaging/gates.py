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
from tuco.calendar import blocking_reason, next_open, window_from

THREAD_RECHECK = timedelta(seconds=5)
LINE_BUSY_SAFETY_NET = timedelta(seconds=30)
THREAD_SAFETY_NET = timedelta(hours=1)


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


def device_busy_gate(line: Line, now: datetime) -> Block | None:
    """Cheap pre-check on the loaded device row; the reservation's guarded UPDATE remains the real guard."""
    device = line.device
    if device is None or device.last_send_at is None or not device.device_gap_seconds:
        return None
    free_at = device.last_send_at + timedelta(seconds=device.device_gap_seconds)
    if free_at > now:
        return Block("device_gap", free_at, f"{device.device_gap_seconds}s between sends on this device", line.pk)
    return None


def line_state_gate(line: Line, now: datetime) -> Block | None:
    recheck = now + timedelta(seconds=settings.TUCO_LINE_RECHECK_SECONDS)
    if not line.is_active:
        return Block("line_inactive", recheck, "line is inactive", line.pk)
    if not line.is_healthy:
        return Block("line_unhealthy", recheck, line.health_reason or "relay unreachable", line.pk)
    return None


def older_due_on_line(message: Message, line_id: str, now: datetime) -> bool:
    """Is an older outbound message on this line due now (so this one must yield)?"""
    return Message.objects.filter(
        line_id=line_id, status__in=(Status.PENDING, Status.QUEUED), next_attempt_at__lte=now,
        direction=Direction.OUTBOUND,
    ).filter(Q(created_at__lt=message.created_at) | Q(created_at=message.created_at, id__lt=message.pk)).exists()


def fifo_gate(message: Message, line: Line, now: datetime) -> Block | None:
    """Per-line FIFO: yield while an older message on the same line is due now.

    Messages waiting for a reason of their own (scheduledDate, window, a gap
    that only applies to new contacts) have a future next_attempt_at and do not
    hold the line; the oldest due message always goes first.
    """
    if older_due_on_line(message, line.pk, now):
        # Woken when the older message is claimed or starts waiting (messaging.queueing); the time
        # stored here is only a safety net.
        return Block("line_busy", now + LINE_BUSY_SAFETY_NET, "an older message on this line goes first", line.pk)
    return None


# An older message of the conversation waiting for one of these does not hold the newer ones back:
# they are the older message's own schedule, not a turn in the queue.
OWN_SCHEDULE_REASONS = ("scheduled", "time_window", "day_not_allowed")


def thread_order_gate(message: Message, now: datetime) -> Block | None:
    """Per-conversation FIFO: never overtake an older outbound message to the same recipient that is
    still on its way (sending, or waiting its turn on a line)."""
    if message.thread_id is None:
        return None
    older = (Message.objects.filter(thread_id=message.thread_id, direction=Direction.OUTBOUND,
                                    status__in=(Status.PENDING, Status.QUEUED, Status.SCHEDULED, Status.SENDING))
             .exclude(queued_reason__in=OWN_SCHEDULE_REASONS)
             .filter(Q(created_at__lt=message.created_at) | Q(created_at=message.created_at, id__lt=message.pk))
             .order_by("next_attempt_at").values_list("status", "next_attempt_at").first())
    if older is None:
        return None
    status, when = older
    # The older message wakes this one the moment it leaves the queue (messaging.lifecycle), so the
    # stored time is only a safety net; the API shows the older message's expected time instead.
    if status in (Status.SENDING, Status.PENDING) or when is None:
        next_at = now + THREAD_RECHECK
    else:
        next_at = max(when, now) + THREAD_SAFETY_NET
    return Block("thread_order", next_at, "an older message to this recipient goes first", message.line_id)


def thread_order_expected_at(message: Message) -> datetime | None:
    """For display: when the message holding this one back is expected to go."""
    return (Message.objects.filter(thread_id=message.thread_id, direction=Direction.OUTBOUND,
                                   status__in=(Status.PENDING, Status.QUEUED, Status.SCHEDULED, Status.SENDING))
            .exclude(queued_reason__in=OWN_SCHEDULE_REASONS)
            .filter(Q(created_at__lt=message.created_at) | Q(created_at=message.created_at, id__lt=message.pk))
            .order_by("-next_attempt_at").values_list("next_attempt_at", flat=True).first())


def sticky_line_id(message: Message) -> str | None:
    """The line the recipient already hears from (set on the thread by the first successful send)."""
    thread = message.thread
    if thread is None or thread.started_at is None:
        return None
    return thread.line_id


def candidate_lines(message: Message) -> Iterator[Line]:
    """The lines that may send this message, in order of preference.

    Pinned (fromLineId): only that line. A conversation already under way: only
    its sticky line, unless that line was deactivated. Otherwise the message's
    line first, then the workspace's other active healthy lines, so a new
    conversation whose line is out of capacity, in its gap or unhealthy goes
    out on another line with room now.
    """
    current = message.line
    if current is None:
        return
    if message.line_pinned:
        yield current
        return
    sticky = sticky_line_id(message)
    if sticky is not None:
        line = current if sticky == current.pk else Line.objects.select_related("device").filter(pk=sticky).first()
        if line is not None and line.is_active:
            yield line  # sticky sender: the conversation stays on its line (waiting if it must)
            return
    yield current
    # Only looked up when the first line could not take the message.
    yield from Line.objects.select_related("device").filter(
        workspace_id=message.workspace_id, is_active=True, health_status=Line.Health.HEALTHY,
        channel_type=current.channel_type,
    ).exclude(pk=current.pk).order_by("id")
