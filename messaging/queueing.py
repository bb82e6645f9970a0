"""Waiting in line for a shared slot (device gap, contact gap) without a thundering herd.

When a device's gap ends only one message can use it, yet every message
blocked by that gap would otherwise wake at the same instant. Instead a
message blocked by a shared gap is parked at its place in the queue:

    next_attempt_at = gate end + (messages ahead of it on the same gate) × gap

which is also the honest answer to "when will it go". Two rules keep the
device from idling when the estimate is too late (someone ahead moved to
another line or went elsewhere):

- after a claim uses a device (or starts a conversation on a line), the next
  message parked on that gate is woken exactly when the gap ends;
- a message that finds the device free but cannot use it for another reason
  passes the slot on to the next parked message, now.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q

from lines.models import Device, Line
from messaging.gates import OWN_SCHEDULE_REASONS, Block
from messaging.models import Direction, Message, Status

PARKED_GATES = ("device_gap", "contact_gap")


def _ahead(message: Message, scope: Q) -> int:
    """Messages older than this one that will need the same slots first: every waiting outbound message of
    the scope except those held by their own schedule (scheduledDate, send window)."""
    return Message.objects.filter(scope, status__in=(Status.PENDING, Status.QUEUED), direction=Direction.OUTBOUND)\
        .exclude(queued_reason__in=OWN_SCHEDULE_REASONS)\
        .filter(Q(created_at__lt=message.created_at) | Q(created_at=message.created_at, id__lt=message.pk)).count()


def park(message: Message, block: Block, line: Line | None = None) -> Block:
    """The block with next_at moved to this message's place in the gate's queue."""
    if block.reason not in PARKED_GATES or block.line_id is None:
        return block
    if line is None or line.pk != block.line_id:
        line = Line.objects.select_related("device").filter(pk=block.line_id).first()
    if line is None:
        return block
    if block.reason == "device_gap" and line.device is not None:
        ahead = _ahead(message, Q(line__device_id=line.device_id))
        gap = line.device.device_gap_seconds
    else:
        ahead = _ahead(message, Q(line_id=line.pk, queued_reason="contact_gap"))
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
    if head is None:
        return None
    if Message.objects.filter(pk=head, status=Status.QUEUED, next_attempt_at__gt=at).update(
            next_attempt_at=at, enqueued_at=None):
        from messaging.outcomes import schedule_dispatch

        schedule_dispatch(head, at)
        return head
    return None


def wake_after_send(*, line: Line, device: Device | None, new_conversation: bool, at: datetime) -> None:
    if device is not None and device.device_gap_seconds:
        _wake_oldest(Q(line__device_id=device.pk), "device_gap", at + timedelta(seconds=device.device_gap_seconds))
    if new_conversation and line.contact_gap_seconds:
        _wake_oldest(Q(line_id=line.pk), "contact_gap", at + timedelta(seconds=line.contact_gap_seconds))


def pass_free_slot(*, message: Message, block: Block, now: datetime) -> None:
    """The message's device is free now but the message cannot use it: offer the slot to the next in line."""
    if block.reason == "device_gap" or message.line is None or message.line.device is None:
        return
    device = message.line.device  # loaded with the message a moment ago
    if not device.device_gap_seconds:
        return
    if device.last_send_at is None or device.last_send_at + timedelta(seconds=device.device_gap_seconds) <= now:
        _wake_oldest(Q(line__device_id=device.pk) & ~Q(pk=message.pk), "device_gap", now)


def wake_line_busy(*, line_id: str, at: datetime) -> str | None:
    """The older message a `line_busy` one yielded to is no longer due (claimed, or waiting for its own
    reason): the next one in line may go now."""
    head = (Message.objects.filter(line_id=line_id, status=Status.QUEUED, queued_reason="line_busy",
                                   next_attempt_at__gt=at)
            .order_by("created_at", "id").values_list("id", flat=True).first())
    if head and Message.objects.filter(pk=head, status=Status.QUEUED, queued_reason="line_busy",
                                       next_attempt_at__gt=at).update(next_attempt_at=at, enqueued_at=None):
        from messaging.outcomes import schedule_dispatch

        transaction.on_commit(lambda: schedule_dispatch(head, at))  # at once when not in a transaction
        return head
    return None
