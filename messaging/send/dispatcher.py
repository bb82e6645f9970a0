"""The dispatch: one pass over one message — claim (with its gates), send on its channel, settle.

Called by the dispatch task (and by the inline send while the broker is down). Idempotent: a
message that is not claimable or not yet due is left alone, so duplicate wake-ups are harmless.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from messaging.models import CLAIMABLE, Message, QueuedReason
from messaging.send import outcomes, pacing
from messaging.send.channels import channel_for
from messaging.send.claim import BLOCKED, Claimed, claim_for_send
from messaging.send.outcome import Block, RetryPolicy, policy_for
from messaging.send.state import wait
from tuco.logging import bind_context, get_logger

log = get_logger(__name__)

# A wake-up this early (clock skew between processes) still counts as due.
EARLY_TOLERANCE = timedelta(seconds=2)


def send_message(message_id: str, *, inline: bool = False, policy: RetryPolicy | None = None) -> str:
    """Returns what happened: "not_due", "held", "gone", "waiting", "sent", "failed", "verifying", "blocked",
    "fallback"."""
    now = timezone.now()
    message = Message.objects.select_related("line__device", "lead", "thread").filter(pk=message_id).first()
    if message is None or message.status not in CLAIMABLE:
        return "gone"
    policy = policy or policy_for(message)
    bind_context(correlationId=message.correlation_id, messageId=message.pk, workspaceId=message.workspace_id)
    if message.next_attempt_at is None:
        return "held"  # its campaign is paused
    if message.next_attempt_at > now + EARLY_TOLERANCE:
        return "not_due"
    channel = channel_for(message)
    result = claim_for_send(message, now, channel=channel.attempt_channel, uses_line=channel.uses_line)
    if result is None:
        return "gone"
    if result == BLOCKED:
        if message.line_id:
            pacing.wake_line_busy(line_id=message.line_id, at=now)  # refused for good: it no longer holds its line
        return "blocked"
    if isinstance(result, Block):
        _wait(message, result, now)
        return "waiting"
    assert isinstance(result, Claimed)
    return outcomes.settle(result, channel.send(result), channel=channel, policy=policy, inline=inline)


def _wait(message: Message, block: Block, now) -> None:
    if block.reason != QueuedReason.LINE_BUSY:
        pacing.pass_free_slot(message=message, block=block, now=now)
    wait(message, block, now=now)
    if block.reason != QueuedReason.LINE_BUSY:
        if message.line_id:
            pacing.wake_line_busy(line_id=message.line_id, at=now)  # this one no longer holds its line
    elif block.line_id:
        # The older message may have been claimed between our look and this (now committed) wait,
        # when its wake-up found nobody waiting yet: look once more.
        later = timezone.now()
        if not pacing.older_due_on_line(message, block.line_id, later):
            pacing.wake_line_busy(line_id=block.line_id, at=later)
