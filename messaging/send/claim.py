"""Claiming a message for one send: gates, capacity reservation and `→ sending`, in one transaction.

The guarded UPDATE to `sending` is the double-send guard. It commits together with the capacity it
holds and the SendAttempt row that records the try, so a worker that dies after this point leaves a
row the stuck-sending sweep can verify, and one that dies before it leaves nothing held.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from lines.capacity import CapacityDenied, capacity_reserve
from lines.models import Line
from messaging.models import CLAIMABLE, Message, QueuedReason, SendAttempt, Status
from messaging.send import attempts, pacing, state
from messaging.send.outcome import Block
from messaging.send.pacing import candidate_lines
from tuco.logging import get_logger

log = get_logger(__name__)

BLOCKED = "blocked"  # the do-not-contact check refused the message for good


@dataclass
class Claimed:
    message: Message
    line: Line | None
    attempt: SendAttempt | None  # None for provider channels, which record one attempt per provider call


class _LostRace(Exception):
    pass


def _claim_fields(message: Message, line: Line | None, now: datetime, reservation: dict | None,
                  new: bool | None) -> dict:
    fields = {"sending_since": now, "queued_reason": "", "enqueued_at": None, "reservation": reservation,
              "is_new_conversation": new}
    if line is not None and line.pk != message.line_id:
        fields.update(line=line, from_line_phone=line.phone, from_line_email=line.email)
    return fields


def _claim(message: Message, line: Line | None, now: datetime, *, attempt_channel: str) -> Claimed:
    """Inside a transaction: reserve (if a line) and move to `sending`; raise CapacityDenied or _LostRace."""
    reservation = None
    new = None
    if line is not None:
        held = capacity_reserve(line=line, device=line.device, address=message.send_to_address,
                                lead_id=message.lead_id, message_id=message.pk, now=now)
        reservation, new = held.as_json(), held.new
    updated = state.transition(message.pk, to=Status.SENDING, allowed_from=CLAIMABLE, reason="claimed",
                               fields=_claim_fields(message, line, now, reservation, new),
                               increments=("attempt_count",), detail={"attempt": message.attempt_count + 1}, now=now,
                               only_if_due=True)
    if updated is None:
        raise _LostRace()
    if not attempt_channel:
        return Claimed(message=updated, line=line, attempt=None)
    attempt = attempts.attempt_open(message_id=message.pk, channel=attempt_channel,
                                    line_id=line.pk if line else None, to_address=message.send_to_address,
                                    started_at=now)
    return Claimed(message=updated, line=line, attempt=attempt)


def claim_for_send(message: Message, now: datetime, *, channel: str, uses_line: bool) -> Claimed | Block | str | None:
    """Claimed, the Block that keeps the message waiting, BLOCKED (do-not-contact), or None when
    another worker has it.

    `uses_line`: the send spends the line's capacity (iMessage and email). SMS and forced fallbacks
    go through the workspace's provider and hold no line capacity. `channel`: the SendAttempt.channel
    the claim records in its transaction ("relay", "smtp"); "" when the channel records its own
    provider calls. The do-not-contact check runs once the cheap gates pass, just
    before capacity is taken.
    """
    block = (pacing.schedule_gate(message, now) or pacing.window_gate(message, now)
             or pacing.thread_order_gate(message, now))
    if block:
        return block
    if uses_line and message.line_id is None:
        return pacing.no_line_block(now)
    if not uses_line:
        if pacing.block_dnc(message):
            return BLOCKED
        try:
            with transaction.atomic():
                return _claim(message, None, now, attempt_channel=channel)
        except _LostRace:
            return None

    checked = False
    blocks: list[Block] = []
    for line in candidate_lines(message):
        block = (pacing.line_state_gate(line, now) or pacing.fifo_gate(message, line, now)
                 or pacing.device_busy_gate(line, now))
        if block is None and not checked:
            checked = True
            if pacing.block_dnc(message):
                return BLOCKED
        if block is None:
            try:
                with transaction.atomic():
                    claimed = _claim(message, line, now, attempt_channel=channel)
            except CapacityDenied as denied:
                block = Block(denied.reason, denied.next_at, denied.detail, line.pk)
            except _LostRace:
                return None
        if block is not None:
            blocks.append(pacing.park(message, block, line))
            if block.reason in pacing.PACING_REASONS:
                break  # pacing is a turn in the line's queue, not a reason to hop to another line
            continue
        pacing.wake_after_send(line=line, device=line.device,
                               new_conversation=bool(claimed.message.is_new_conversation), at=now)
        pacing.wake_line_busy(line_id=line.pk, at=now)
        if message.line_id and message.line_id != line.pk:
            pacing.wake_line_busy(line_id=message.line_id, at=now)  # it moved: it no longer holds its old line
        return claimed
    if not blocks:
        return Block(QueuedReason.NO_LINE, now, "no active line")
    # Wait for whichever line frees first; on a tie the message's own line wins (stable order).
    return min(blocks, key=lambda b: b.next_at)
