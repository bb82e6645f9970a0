"""The dispatcher: one pass over one message — pre-send checks, claim, send on its channel.

Called by the dispatch task (and by the in-process sync fallback when the
broker is down). Idempotent: a message that is not claimable or not yet due is
left alone, so duplicate wake-ups are harmless.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from leads.dnc import dnc_blocked_address
from messaging import lifecycle
from messaging.claim import claim_for_send
from messaging.gates import Block, older_due_on_line
from messaging.models import CLAIMABLE, Message, MessageType, Status
from messaging.outcomes import RetryPolicy, individual_policy, wait
from messaging.queueing import pass_free_slot, wake_line_busy
from tuco.logging import bind_context, get_logger

log = get_logger(__name__)

# A wake-up this early (clock skew between processes) still counts as due.
EARLY_TOLERANCE = timedelta(seconds=2)


def _channel(message: Message) -> tuple[str, bool]:
    """(attempt channel, whether the send spends line capacity)."""
    if message.force_fallback:
        return "fallback", False
    if message.message_type == MessageType.SMS:
        return "twilio", False
    if message.message_type == MessageType.EMAIL:
        return "smtp", True
    return "relay", True


def block_dnc(message: Message) -> bool:
    addresses = [message.send_to_address, message.recipient_phone, message.recipient_email]
    blocked = dnc_blocked_address(workspace_id=message.workspace_id, addresses=addresses)
    if blocked is None:
        return False
    log.warning("message.blocked.dnc", messageId=message.pk, address=blocked, correlationId=message.correlation_id)
    lifecycle.transition(message.pk, to=Status.FAILED, allowed_from=CLAIMABLE, reason="dnc_blocked",
                         fields={"error": f"{blocked} is on the do-not-contact list", "error_code": "DNC_BLOCKED",
                                 "queued_reason": "", "next_attempt_at": None})
    return True


def send_message(message_id: str, *, inline: bool = False, policy: RetryPolicy | None = None) -> str:
    """Returns what happened: "not_due", "gone", "waiting", "sent", "failed", "verifying", "blocked"."""
    policy = policy or individual_policy()
    now = timezone.now()
    message = Message.objects.select_related("line__device", "lead", "thread").filter(pk=message_id).first()
    if message is None or message.status not in CLAIMABLE:
        return "gone"
    bind_context(correlationId=message.correlation_id, messageId=message.pk, workspaceId=message.workspace_id)
    if message.next_attempt_at and message.next_attempt_at > now + EARLY_TOLERANCE:
        return "not_due"
    channel, uses_line = _channel(message)
    result = claim_for_send(message, now, channel=channel, uses_line=uses_line,
                            before_claim=lambda: block_dnc(message))
    if result is None:
        return "gone"
    if result == "blocked":
        if message.line_id:
            wake_line_busy(line_id=message.line_id, at=now)  # refused for good: it no longer holds its line
        return "blocked"
    if isinstance(result, Block):
        if result.reason != "line_busy":
            pass_free_slot(message=message, block=result, now=now)
        wait(message, result, now=now)
        if result.reason != "line_busy" and message.line_id:
            wake_line_busy(line_id=message.line_id, at=now)  # this one no longer holds its line
        elif result.reason == "line_busy" and result.line_id:
            # The older message may have been claimed between our look and this (now committed) wait,
            # when its wake-up found nobody waiting yet: look once more.
            later = timezone.now()
            if not older_due_on_line(message, result.line_id, later):
                wake_line_busy(line_id=result.line_id, at=later)
        return "waiting"

    if channel == "relay":
        from messaging.relay_send import send_via_relay

        return send_via_relay(result, policy=policy, inline=inline, lead=message.lead)
    from messaging.channels import send_on_channel

    return send_on_channel(result, channel=channel, policy=policy)
