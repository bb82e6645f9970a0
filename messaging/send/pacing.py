"""Pacing: which line may send a message, and whether it may go now — or the `Block` that says why not
and until when (computed from the rule that holds it, never guessed).

Three parts, in the order the claim uses them:

1. Line choice: the integrator's line (fromLineId), else the conversation's sticky line, else the
   message's line first and the workspace's other healthy lines after it (round-robin at creation).
2. Gates that need no reservation: schedule, send window, conversation order, line state,
   per-line FIFO, device gap (a cheap look; the reservation in lines.capacity is the real guard),
   and the do-not-contact check.
3. Waiting in line for a shared slot (device gap, contact gap) without a thundering herd. When a
   device's gap ends only one message can use it, yet every message blocked by that gap would
   otherwise wake at the same instant. Instead a message blocked by a shared gap is parked at its
   place in the queue: next_attempt_at = gate end + (messages ahead of it on the same gate) × gap,
   which is also the honest answer to "when will it go". Two rules keep the device from idling when
   the estimate is too late: after a claim uses a device (or starts a conversation on a line) the
   next message parked on that gate is woken exactly when the gap ends; and a message that finds
   the device free but cannot use it for another reason passes the slot on to the next one, now.
4. Spacing the call itself (`wait_for_call_slot`): the gaps are taken again right before the send
   reaches the relay, since the claim-to-call time varies; a short hold is slept out in the worker
   (TUCO_PACING_INLINE_WAIT_SECONDS), a longer one queues the message again without spending an attempt.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from leads.dnc import dnc_blocked_address
from lines.capacity import relay_call_slot
from lines.models import Device, Line
from messaging.models import CLAIMABLE, Direction, Message, QueuedReason, Status
from messaging.selectors import OWN_SCHEDULE_REASONS, ahead_in_thread, older_than
from messaging.send import state
from messaging.send.outcome import Block
from tuco import hot_cache
from tuco.calendar import blocking_reason, next_open, window_from
from tuco.logging import get_logger
from tuco.rotation import next_in_turn

log = get_logger(__name__)

THREAD_RECHECK = timedelta(seconds=5)
LINE_BUSY_SAFETY_NET = timedelta(seconds=30)
THREAD_SAFETY_NET = timedelta(hours=1)

# Gates that only ask the message to wait its turn. A line that cannot send at all for now
# (unhealthy, inactive, out of daily capacity) is a reason to try another line instead.
PACING_REASONS = (QueuedReason.DEVICE_GAP, QueuedReason.CONTACT_GAP, QueuedReason.LINE_BUSY)
PARKED_GATES = (QueuedReason.DEVICE_GAP, QueuedReason.CONTACT_GAP)


# --- 1. line choice --------------------------------------------------------------------------------

def channel_for_message_type(message_type: str) -> str | None:
    """The line channel a message type needs; None when no line is required (SMS goes via the provider)."""
    return {"imessage": Line.Channel.PHONE, "email": Line.Channel.EMAIL}.get(message_type)


def active_lines(*, workspace_id: str, channel: str) -> list[Line]:
    """The workspace's active lines of a channel, for a new message's first line (a few seconds' cache:
    tuco.hot_cache; the claim re-reads the line before anything is sent)."""
    lines = hot_cache.active_lines.get((workspace_id, channel), lambda: list(
        Line.objects.filter(workspace_id=workspace_id, is_active=True, channel_type=channel).order_by("id")))
    return hot_cache.copies(lines)


def line_round_robin(*, workspace_id: str, lines: Sequence[Line]) -> Line:
    """The next line in turn for this workspace (a Redis counter shared by every web process)."""
    return next_in_turn(f"lines:{workspace_id}", lines)


def sticky_line_id(message: Message) -> str | None:
    """The line the recipient already hears from (set on the thread by the first successful send)."""
    thread = message.thread
    if thread is None or thread.started_at is None:
        return None
    return thread.line_id


def candidate_lines(message: Message) -> Iterator[Line]:
    """The lines that may send this message, in order of preference.

    Pinned (fromLineId): only that line. A conversation already under way: only its sticky line,
    unless that line was deactivated. Otherwise the message's line first, then the workspace's other
    active healthy lines, so a new conversation whose line is out of capacity, in its gap or
    unhealthy goes out on another line with room now.
    """
    current = message.line
    if current is None:
        return
    if message.line_pinned:
        yield current
        return
    if message.line_choices:
        yield from _chosen_lines(message, current)
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


def _chosen_lines(message: Message, current: Line) -> Iterator[Line]:
    """A message with its own line choices (a campaign's lines): only those, minus the ones it was tried on;
    the sticky line alone when the recipient already hears from one of them."""
    sticky = sticky_line_id(message)
    if sticky in message.line_choices and sticky not in message.lines_tried:
        order = [sticky]
    else:
        order = [current.pk, *(pk for pk in message.line_choices if pk != current.pk)]
    order = [pk for pk in order if pk not in message.lines_tried or pk == current.pk]
    lines = {line.pk: line for line in Line.objects.select_related("device").filter(pk__in=order[1:])} \
        if len(order) > 1 else {}
    lines[current.pk] = current
    for pk in order:
        if pk in lines:
            yield lines[pk]


# --- 2. gates --------------------------------------------------------------------------------------

def schedule_gate(message: Message, now: datetime) -> Block | None:
    if message.scheduled_date and message.scheduled_date > now:
        return Block(QueuedReason.SCHEDULED, message.scheduled_date)
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


def thread_order_gate(message: Message, now: datetime) -> Block | None:
    """Per-conversation FIFO: never overtake an older outbound message to the same recipient that is
    still on its way (sending, or waiting its turn on a line)."""
    if message.thread_id is None:
        return None
    older = ahead_in_thread(message).order_by("next_attempt_at").values_list("status", "next_attempt_at").first()
    if older is None:
        return None
    status, when = older
    # The older message wakes this one the moment it leaves the queue (messaging.send.state), so the
    # stored time is only a safety net; the API shows the older message's expected time instead.
    if status in (Status.SENDING, Status.PENDING) or when is None:
        next_at = now + THREAD_RECHECK
    else:
        next_at = max(when, now) + THREAD_SAFETY_NET
    return Block(QueuedReason.THREAD_ORDER, next_at, "an older message to this recipient goes first", message.line_id)


def line_state_gate(line: Line, now: datetime) -> Block | None:
    recheck = now + timedelta(seconds=settings.TUCO_LINE_RECHECK_SECONDS)
    if not line.is_active:
        return Block(QueuedReason.LINE_INACTIVE, recheck, "line is inactive", line.pk)
    if not line.is_healthy:
        return Block(QueuedReason.LINE_UNHEALTHY, recheck, line.health_reason or "relay unreachable", line.pk)
    return None


def older_due_on_line(message: Message, line_id: str, now: datetime) -> bool:
    """Is an older outbound message on this line due now (so this one must yield)?"""
    return Message.objects.filter(
        line_id=line_id, status__in=(Status.PENDING, Status.QUEUED), next_attempt_at__lte=now,
        direction=Direction.OUTBOUND,
    ).filter(older_than(message)).exists()


def fifo_gate(message: Message, line: Line, now: datetime) -> Block | None:
    """Per-line FIFO: yield while an older message on the same line is due now.

    Messages waiting for a reason of their own (scheduledDate, window, a gap that only applies to
    new contacts) have a future next_attempt_at and do not hold the line; the oldest due message
    always goes first.
    """
    if older_due_on_line(message, line.pk, now):
        # Woken when the older message is claimed or starts waiting (wake_line_busy); the time stored
        # here is only a safety net.
        return Block(QueuedReason.LINE_BUSY, now + LINE_BUSY_SAFETY_NET, "an older message on this line goes first",
                     line.pk)
    return None


def device_busy_gate(line: Line, now: datetime) -> Block | None:
    """Cheap pre-check on the loaded device row; the reservation's guarded UPDATE remains the real guard."""
    device = line.device
    if device is None or device.last_send_at is None or not device.device_gap_seconds:
        return None
    free_at = device.last_send_at + timedelta(seconds=device.device_gap_seconds)
    if free_at > now:
        return Block(QueuedReason.DEVICE_GAP, free_at, f"{device.device_gap_seconds}s between sends on this device",
                     line.pk)
    return None


def no_line_block(now: datetime) -> Block:
    return Block(QueuedReason.NO_LINE, now + timedelta(seconds=settings.TUCO_LINE_RECHECK_SECONDS),
                 "no line assigned")


def block_dnc(message: Message) -> bool:
    """Refuse a send to an address on the do-not-contact list, for good (the message fails)."""
    addresses = [message.send_to_address, message.recipient_phone, message.recipient_email]
    blocked = dnc_blocked_address(workspace_id=message.workspace_id, addresses=addresses)
    if blocked is None:
        return False
    log.warning("message.blocked.dnc", messageId=message.pk, address=blocked, correlationId=message.correlation_id)
    state.transition(message.pk, to=Status.FAILED, allowed_from=CLAIMABLE, reason="dnc_blocked",
                     fields={"error": f"{blocked} is on the do-not-contact list", "error_code": "DNC_BLOCKED",
                             "queued_reason": "", "next_attempt_at": None})
    return True


# --- 3. waiting in line ------------------------------------------------------------------------------

def _ahead(message: Message, scope: Q) -> int:
    """Messages older than this one that will need the same slots first: every waiting outbound message of
    the scope except those held by their own schedule (scheduledDate, send window)."""
    return Message.objects.filter(scope, status__in=(Status.PENDING, Status.QUEUED), direction=Direction.OUTBOUND)\
        .exclude(queued_reason__in=OWN_SCHEDULE_REASONS).filter(older_than(message)).count()


def park(message: Message, block: Block, line: Line | None = None) -> Block:
    """The block with next_at moved to this message's place in the gate's queue."""
    if block.reason not in PARKED_GATES or block.line_id is None:
        return block
    if line is None or line.pk != block.line_id:
        line = Line.objects.select_related("device").filter(pk=block.line_id).first()
    if line is None:
        return block
    if block.reason == QueuedReason.DEVICE_GAP and line.device is not None:
        ahead = _ahead(message, Q(line__device_id=line.device_id))
        gap = line.device.device_gap_seconds
    else:
        ahead = _ahead(message, Q(line_id=line.pk, queued_reason=QueuedReason.CONTACT_GAP))
        gap = line.contact_gap_seconds
    if not ahead:
        return block
    return Block(block.reason, block.next_at + timedelta(seconds=ahead * gap),
                 f"{block.detail}; {ahead} message(s) ahead of it", block.line_id)


def _wake_oldest(scope: Q, reason: str, at: datetime) -> str | None:
    """Offer the slot at `at` to the oldest message parked on this gate — unless a message of the
    scope is already due by then and will take it."""
    already_due = Message.objects.filter(scope, status__in=(Status.PENDING, Status.QUEUED),
                                         direction=Direction.OUTBOUND, next_attempt_at__lte=at)
    if already_due.exists():
        return None
    head = (Message.objects.filter(scope, status=Status.QUEUED, queued_reason=reason, direction=Direction.OUTBOUND,
                                   next_attempt_at__gt=at)
            .order_by("created_at", "id").values_list("id", flat=True).first())
    if head is None or not state.wake_early(head, at=at):
        return None
    state.dispatch_at(head, at)
    return head


def wake_after_send(*, line: Line, device: Device | None, new_conversation: bool, at: datetime) -> None:
    if device is not None and device.device_gap_seconds:
        _wake_oldest(Q(line__device_id=device.pk), QueuedReason.DEVICE_GAP,
                     at + timedelta(seconds=device.device_gap_seconds))
    if new_conversation and line.contact_gap_seconds:
        _wake_oldest(Q(line_id=line.pk), QueuedReason.CONTACT_GAP, at + timedelta(seconds=line.contact_gap_seconds))


def pass_free_slot(*, message: Message, block: Block, now: datetime) -> None:
    """The message's device is free now but the message cannot use it: offer the slot to the next in line."""
    if block.reason == QueuedReason.DEVICE_GAP or message.line is None or message.line.device is None:
        return
    device = message.line.device  # loaded with the message a moment ago
    if not device.device_gap_seconds:
        return
    if device.last_send_at is None or device.last_send_at + timedelta(seconds=device.device_gap_seconds) <= now:
        _wake_oldest(Q(line__device_id=device.pk) & ~Q(pk=message.pk), QueuedReason.DEVICE_GAP, now)


def wake_line_busy(*, line_id: str, at: datetime) -> str | None:
    """The older message a `line_busy` one yielded to is no longer due (claimed, or waiting for its own
    reason): the next one in line may go now."""
    head = (Message.objects.filter(line_id=line_id, status=Status.QUEUED, queued_reason=QueuedReason.LINE_BUSY,
                                   next_attempt_at__gt=at)
            .order_by("created_at", "id").values_list("id", flat=True).first())
    if head and state.wake_early(head, at=at, reason=QueuedReason.LINE_BUSY):
        transaction.on_commit(lambda: state.dispatch_at(head, at))  # at once when not in a transaction
        return head
    return None


def wait_for_call_slot(*, line: Line, device: Device, new: bool,
                       sleep: Callable[[float], None] = time.sleep) -> Block | None:
    """Wait (outside any transaction) until this send may reach the relay under the device gap and, for a
    new conversation, the line's contact gap, and take them: None. When the wait would exceed
    TUCO_PACING_INLINE_WAIT_SECONDS, the Block to queue the message for instead (nothing was sent)."""
    while True:
        now = timezone.now()
        hold = relay_call_slot(line=line, device=device, new=new, now=now)
        if hold is None:
            return None
        reason, at = hold
        wait = (at - now).total_seconds()
        if wait > settings.TUCO_PACING_INLINE_WAIT_SECONDS:
            return Block(reason, at, "the previous send reached the relay late; keeping the gap", line.pk)
        log.info("pacing.call_slot_wait", lineId=line.pk, reason=reason, waitMs=int(wait * 1000))
        assert not transaction.get_connection().in_atomic_block, "never sleep holding a transaction"
        sleep(max(wait, 0.001))
