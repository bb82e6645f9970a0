"""Resolving a message found in `sending` long after its worker should have finished."""

from __future__ import annotations

from messaging.models import Message, SendAttempt, Status
from messaging.outcomes import RetryPolicy, fail, mark_sent, retry_or_fail
from messaging.verification import verify_once
from tuco.logging import get_logger

log = get_logger(__name__)


def resolve_stuck(message_id: str, *, policy: RetryPolicy) -> str:
    message = Message.objects.filter(pk=message_id, status=Status.SENDING).first()
    if message is None:
        return "gone"
    attempt = SendAttempt.objects.filter(message_id=message_id).order_by("-number", "-id").first()
    log.warning("message.sending_stuck", messageId=message_id, attempt=attempt.number if attempt else None,
                correlationId=message.correlation_id)
    if attempt is None:
        # Claimed but no attempt recorded: nothing reached a relay.
        return _back_to_retry(message, policy, "worker stopped before sending")
    if attempt.outcome == SendAttempt.Outcome.SENT:
        mark_sent(message_id, guid=attempt.external_id, via="recovered", attempt_id=attempt.pk)
        return "sent"
    if attempt.outcome == SendAttempt.Outcome.NOT_SENT:
        return _back_to_retry(message, policy, attempt.error or "attempt did not send")
    if attempt.channel != "relay":
        # SMS/email providers cannot be asked after the fact; resending could duplicate.
        fail(message, error="send outcome unknown: the worker stopped mid-send; not retried to avoid a duplicate",
             code="SEND_OUTCOME_UNKNOWN")
        return "failed"
    return verify_once(message_id, attempt.pk, policy=policy, final=True)


def _back_to_retry(message: Message, policy: RetryPolicy, error: str) -> str:
    updated = retry_or_fail(message, error=error, code="SEND_FAILED", policy=policy)
    return "failed" if updated is not None and updated.status == Status.FAILED else "waiting"
