"""forceFallback: the message skips iMessage and goes straight to the workspace's fallback SMS provider
— status `fallback`, then the exactly-once fallback SMS (messaging.send.fallback), in this call."""

from __future__ import annotations

from typing import ClassVar

from messaging.models import FallbackStatus, Message, SendAttempt, Status
from messaging.send import state
from messaging.send.claim import Claimed
from messaging.send.fallback import fallback_sms_send
from messaging.send.outcome import Outcome, Result
from tuco.logging import get_logger

log = get_logger(__name__)


def force_fallback(message_id: str, *, from_statuses: tuple[str, ...],
                   inline: bool = False) -> tuple[Message | None, Outcome | None]:
    """Returns (the message after the fallback SMS, its outcome), or (None, None) when the message was
    not in one of `from_statuses` (someone else is handling it). `inline`: a web request (one provider
    call, retries handed to a worker)."""
    moved = state.transition(
        message_id, to=Status.FALLBACK, allowed_from=from_statuses, reason="force_fallback",
        fields={"fallback_reason": "forceFallback: iMessage skipped", "fallback_sms_status": FallbackStatus.PENDING,
                "next_attempt_at": None, "queued_reason": "", "sending_since": None, "reservation": None},
    )
    if moved is None:
        return None, None
    outcome = fallback_sms_send(message_id=message_id, reason="force_fallback", inline=inline)
    log.info("fallback.forced", messageId=message_id, sent=outcome.sent, provider=outcome.provider,
             errorCode=outcome.error_code, correlationId=moved.correlation_id)
    return Message.objects.get(pk=message_id), outcome


class ForcedFallbackChannel:
    attempt_channel: ClassVar[str] = ""  # the fallback SMS records one attempt per provider call
    uses_line: ClassVar[bool] = False
    can_verify: ClassVar[bool] = False

    def send(self, claimed: Claimed, *, resume: bool = False) -> Outcome:
        _, sms = force_fallback(claimed.message.pk, from_statuses=(Status.SENDING,))
        return Outcome(Result.FALLBACK if sms is not None else Result.GONE)

    def verify(self, message: Message, attempt: SendAttempt, *, final: bool) -> Outcome:
        raise NotImplementedError("the fallback SMS is sent at most once and never verified")
