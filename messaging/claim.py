"""Claiming a message for one send: gates, capacity reservation and `→ sending`, in one transaction.

The guarded UPDATE to `sending` is the double-send guard. It commits together
with the capacity it holds and the SendAttempt row that records the try, so a
worker that dies after this point leaves a row the stuck-sending sweep can
verify, and one that dies before it leaves nothing held.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max

from lines.capacity import CapacityDenied, capacity_reserve
from lines.models import Line
from messaging import lifecycle
from messaging.gates import (
    Block,
    candidate_lines,
    device_busy_gate,
    fifo_gate,
    line_state_gate,
    schedule_gate,
    thread_order_gate,
    window_gate,
)
from messaging.models import CLAIMABLE, Message, SendAttempt, Status
from messaging.queueing import park, wake_after_send, wake_line_busy
from tuco.logging import get_logger

log = get_logger(__name__)


@dataclass
class Claimed:
    message: Message
    line: Line | None
    attempt: SendAttempt | None  # None for provider channels, which record their own attempts


# Channels whose attempt row the claim writes (in the claim's transaction). Provider channels
# (Twilio SMS, fallbacks) record one row per provider call themselves.
CLAIM_RECORDS_ATTEMPT = ("relay", "smtp")


# Gates that only ask the message to wait its turn. A line that cannot send at all for now
# (unhealthy, inactive, out of daily capacity) is a reason to try another line instead.
PACING_REASONS = ("device_gap", "contact_gap", "line_busy")


class _LostRace(Exception):
    pass


def temp_guid_for(message_id: str, attempt_number: int) -> str:
    # Unique per attempt: BlueBubbles refuses a tempGuid still in flight, and a reused one would
    # be a second message once the first call finished.
    return f"tuco-{message_id}-{attempt_number}"


def _claim_fields(message: Message, line: Line | None, now: datetime, reservation: dict | None,
                  new: bool | None) -> dict:
    fields = {"sending_since": now, "queued_reason": "", "enqueued_at": None, "reservation": reservation,
              "is_new_conversation": new}
    if line is not None and line.pk != message.line_id:
        fields.update(line=line, from_line_phone=line.phone, from_line_email=line.email)
    return fields


def _claim(message: Message, line: Line | None, now: datetime, *, channel: str) -> Claimed:
    """Inside a transaction: reserve (if a line) and move to `sending`; raise CapacityDenied or _LostRace."""
    reservation = None
    new = None
    if line is not None:
        held = capacity_reserve(line=line, device=line.device, address=message.send_to_address,
                                lead_id=message.lead_id, message_id=message.pk, now=now)
        reservation, new = held.as_json(), held.new
    updated = lifecycle.transition(message.pk, to=Status.SENDING, allowed_from=CLAIMABLE, reason="claimed",
                                   fields=_claim_fields(message, line, now, reservation, new),
                                   increments=("attempt_count",), detail={"attempt": message.attempt_count + 1},
                                   now=now)
    if updated is None:
        raise _LostRace()
    if channel not in CLAIM_RECORDS_ATTEMPT:
        return Claimed(message=updated, line=line, attempt=None)
    # Attempt rows are numbered by try, not by the retry budget (a line's fault gives its attempt back).
    number = (SendAttempt.objects.filter(message_id=message.pk, channel=channel).aggregate(n=Max("number"))["n"]
              or 0) + 1
    attempt = SendAttempt.objects.create(
        message_id=message.pk, number=number, channel=channel, line=line, started_at=now,
        temp_guid=temp_guid_for(message.pk, number) if channel == "relay" else "",
        to_address=message.send_to_address,
    )
    return Claimed(message=updated, line=line, attempt=attempt)


def claim_for_send(message: Message, now: datetime, *, channel: str, uses_line: bool,
                   before_claim: Callable[[], bool] = lambda: False) -> Claimed | Block | str | None:
    """Claimed, or the Block that keeps the message waiting, or None when another worker has it.

    `uses_line`: the send spends the line's capacity (iMessage and email). SMS and
    forced fallbacks go through the workspace's provider and hold no line capacity.
    `before_claim` runs once the cheap gates pass, just before capacity is taken (the
    do-not-contact check); returning True stops the claim ("blocked").
    """
    block = schedule_gate(message, now) or window_gate(message, now) or thread_order_gate(message, now)
    if block:
        return block
    if uses_line and message.line_id is None:
        return Block("no_line", now + timedelta(seconds=settings.TUCO_LINE_RECHECK_SECONDS), "no line assigned")
    checked = False
    if not uses_line:
        if before_claim():
            return "blocked"
        try:
            with transaction.atomic():
                return _claim(message, None, now, channel=channel)
        except _LostRace:
            return None

    blocks: list[Block] = []
    for line in candidate_lines(message):
        block = line_state_gate(line, now) or fifo_gate(message, line, now) or device_busy_gate(line, now)
        if block is None and not checked:
            checked = True
            if before_claim():
                return "blocked"
        if block is None:
            try:
                with transaction.atomic():
                    claimed = _claim(message, line, now, channel=channel)
            except CapacityDenied as denied:
                block = Block(denied.reason, denied.next_at, denied.detail, line.pk)
            except _LostRace:
                return None
        if block is not None:
            blocks.append(park(message, block, line))
            if block.reason in PACING_REASONS:
                break  # pacing is a turn in the line's queue, not a reason to hop to another line
            continue
        wake_after_send(line=line, device=line.device, new_conversation=bool(claimed.message.is_new_conversation),
                        at=now)
        wake_line_busy(line_id=line.pk, at=now)
        if message.line_id and message.line_id != line.pk:
            wake_line_busy(line_id=message.line_id, at=now)  # it moved: it no longer holds its old line
        return claimed
    if not blocks:
        return Block("no_line", now, "no active line")
    # Wait for whichever line frees first; on a tie the message's own line wins (stable order).
    return min(blocks, key=lambda b: b.next_at)
