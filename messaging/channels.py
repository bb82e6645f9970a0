"""Sends that do not go through a device relay: SMS (Twilio), email (SMTP) and forced fallbacks.

Each runs on a message this worker has claimed (`sending`) and ends it through
messaging.outcomes / messaging.lifecycle. Providers that cannot be asked
afterwards whether a send happened are never retried blindly when the outcome
is unknown: the message fails with SEND_OUTCOME_UNKNOWN instead.
"""

from __future__ import annotations

from django.utils import timezone

from fallback.services import fallback_dispatch
from fallback.sms import sms_send
from lines.email_channel import EmailSendError, email_send
from messaging import lifecycle
from messaging.claim import Claimed
from messaging.models import Direction, FallbackStatus, Message, SendAttempt, Status
from messaging.outcomes import RetryPolicy, attempt_finish, fail, mark_sent, retry_or_fail
from messaging.personalize import render_message
from tuco.logging import get_logger

log = get_logger(__name__)

UNKNOWN_OUTCOME = "send outcome unknown (the provider may have sent it); not retried to avoid a duplicate"


def send_on_channel(claimed: Claimed, *, channel: str, policy: RetryPolicy) -> str:
    if channel == "twilio":
        return _send_sms(claimed, policy)
    if channel == "smtp":
        return _send_email(claimed, policy)
    if channel == "fallback":
        return _send_forced_fallback(claimed)
    raise ValueError(f"unknown channel {channel!r}")


def _status_of(updated: Message | None) -> str:
    return "failed" if updated is not None and updated.status == Status.FAILED else "waiting"


def _send_sms(claimed: Claimed, policy: RetryPolicy) -> str:
    message = claimed.message
    outcome = sms_send(message_id=message.pk)
    if outcome.sent:
        Message.objects.filter(pk=message.pk).update(send_to_address=outcome.to_address)
        mark_sent(message.pk, guid=outcome.external_id, via="twilio_accepted")
        return "sent"
    if outcome.permanent:
        fail(message, error=outcome.error, code=outcome.error_code or "SMS_FAILED")
        return "failed"
    if outcome.maybe_sent:
        fail(message, error=f"{UNKNOWN_OUTCOME}: {outcome.error}", code="SEND_OUTCOME_UNKNOWN")
        return "failed"
    return _status_of(retry_or_fail(message, error=outcome.error, code=outcome.error_code or "SMS_FAILED",
                                    policy=policy))


def _subject(message: Message, line_name: str) -> str:
    return message.subject or f"Message from {line_name}"


def _email_answered(message: Message) -> str:
    """The Message-ID of the latest email they sent on this thread before this one: the reply names it in
    In-Reply-To/References, so their mail client shows it in the same conversation."""
    if not message.thread_id:
        return ""
    return (Message.objects.filter(thread_id=message.thread_id, direction=Direction.INBOUND, message_type="email",
                                   external_message_id__startswith="<", created_at__lte=message.created_at)
            .order_by("-created_at").values_list("external_message_id", flat=True).first() or "")


def _send_email(claimed: Claimed, policy: RetryPolicy) -> str:
    message, line, attempt = claimed.message, claimed.line, claimed.attempt
    assert line is not None and attempt is not None
    started = timezone.now()
    try:
        result = email_send(line=line, to=message.send_to_address, subject=_subject(message, line.display_name),
                            body=render_message(message), message_id=message.pk,
                            in_reply_to=_email_answered(message))
    except EmailSendError as error:
        attempt_finish(attempt.pk, outcome=SendAttempt.Outcome.NOT_SENT if not error.maybe_sent
                       else SendAttempt.Outcome.UNKNOWN, started=started, response_code=error.smtp_code,
                       error_class=error.code, error=error.message)
        if error.permanent:
            fail(message, error=error.message, code=error.code)
            return "failed"
        if error.maybe_sent:
            fail(message, error=f"{UNKNOWN_OUTCOME}: {error.message}", code="SEND_OUTCOME_UNKNOWN")
            return "failed"
        return _status_of(retry_or_fail(message, error=error.message, code=error.code, policy=policy))
    attempt_finish(attempt.pk, outcome=SendAttempt.Outcome.SENT, started=started, response_code=250,
                   external_id=result.message_id_header)
    mark_sent(message.pk, guid=result.message_id_header, via="smtp_accepted", attempt_id=attempt.pk)
    return "sent"


def force_fallback(message_id: str, *, from_statuses: tuple[str, ...]) -> tuple[Message | None, object | None]:
    """forceFallback: straight to the fallback channel — status `fallback`, then the exactly-once dispatch.

    Returns (the message after the dispatch, the FallbackOutcome), or (None, None) when the message was
    not in one of `from_statuses` (someone else is handling it).
    """
    moved = lifecycle.transition(
        message_id, to=Status.FALLBACK, allowed_from=from_statuses, reason="force_fallback",
        fields={"fallback_reason": "forceFallback: iMessage skipped", "fallback_sms_status": FallbackStatus.PENDING,
                "next_attempt_at": None, "queued_reason": "", "sending_since": None, "reservation": None},
    )
    if moved is None:
        return None, None
    outcome = fallback_dispatch(message_id=message_id, reason="force_fallback")
    log.info("fallback.forced", messageId=message_id, sent=outcome.sent, provider=outcome.provider,
             errorCode=outcome.error_code, correlationId=moved.correlation_id)
    return Message.objects.get(pk=message_id), outcome


def _send_forced_fallback(claimed: Claimed) -> str:
    _, outcome = force_fallback(claimed.message.pk, from_statuses=(Status.SENDING,))
    return "fallback" if outcome is not None else "gone"
