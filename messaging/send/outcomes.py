"""What happens after a send: an `Outcome` becomes state — sent, wait (with a reason), retry after the
gap, verify first, fail (and maybe the fallback SMS), or fallback.

| outcome                         | becomes                                                              |
|---------------------------------|----------------------------------------------------------------------|
| SENT                            | `sent` (one commit with the attempt and the thread's sticky line)   |
| FAILED (permanent)              | `failed`; the fallback SMS when the policy says so                  |
| TRANSIENT, maybe sent, verifiable | verified on the device before anything else (never a blind resend) |
| TRANSIENT, maybe sent, not verifiable | `failed` SEND_OUTCOME_UNKNOWN (a resend could duplicate)       |
| TRANSIENT                       | `queued` retry_wait after the gap, or `failed` once attempts run out |
| LINE_FAULT                      | the line goes unhealthy; `queued` line_unhealthy, attempt given back |
| WAIT                            | `queued` for the block's reason, attempt given back                 |
| UNAVAILABLE                     | `fallback` (checked addresses); the fallback SMS when configured    |

The capacity a claim held is given back exactly once when the send did not happen.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from lines.health import device_mark_unhealthy
from lines.models import Line
from lines.relay.errors import line_fault_detail
from messaging.models import Message, QueuedReason, SendAttempt, Status
from messaging.send import attempts, state, wake
from messaging.send.channels import Channel, channel_for
from messaging.send.claim import Claimed
from messaging.send.fallback import fallback_request
from messaging.send.outcome import Block, Outcome, Result, RetryPolicy, policy_for
from tuco.logging import get_logger

log = get_logger(__name__)

UNKNOWN_OUTCOME = "send outcome unknown (the provider may have sent it); not retried to avoid a duplicate"


def settle(claimed: Claimed, outcome: Outcome, *, channel: Channel, policy: RetryPolicy, inline: bool) -> str:
    """Act on what the channel did; returns "sent", "waiting", "failed", "fallback", "verifying" or "gone"."""
    message = claimed.message
    result = outcome.result
    if result == Result.SENT:
        _sent(message, outcome)
        return "sent"
    if result == Result.FALLBACK:
        return "fallback"
    if result == Result.GONE:
        return "gone"
    error = outcome.error
    if result == Result.LINE_FAULT:
        assert error is not None
        return line_fault(claimed, line_fault_detail(error))
    if result == Result.WAIT:
        assert outcome.block is not None
        state.release_reservation(message.pk)
        state.wait_without_attempt(message, outcome.block)
        return "waiting"
    if result == Result.UNAVAILABLE:
        return _unavailable(message, outcome)
    assert error is not None
    if result == Result.FAILED:
        fail(message, error=error.message, code=error.code)
        return "failed"
    if error.maybe_sent and channel.can_verify and outcome.attempt_id is not None:
        return begin_verification(message, outcome.attempt_id, policy=policy, inline=inline)
    if error.maybe_sent:
        fail(message, error=f"{UNKNOWN_OUTCOME}: {error.message}", code="SEND_OUTCOME_UNKNOWN")
        return "failed"
    updated = retry_or_fail(message, error=error.message, code=error.code, policy=policy)
    return "failed" if updated is not None and updated.status == Status.FAILED else "waiting"


def _sent(message: Message, outcome: Outcome) -> None:
    if state.mark_sent(message.pk, guid=outcome.external_id, via=outcome.via, attempt_id=outcome.attempt_id,
                       message_fields=outcome.message_fields, attempt_fields=outcome.attempt_fields):
        return
    # Someone else recorded the send first (a relay event, the stuck sweep): keep our facts too.
    parts = outcome.message_fields.get("parts_sent")
    if parts:
        state.keep_parts_of_recorded_send(message.pk, guid=outcome.external_id, parts=parts)
        if outcome.attempt_id is not None:
            attempts.attempt_finish(outcome.attempt_id, outcome=SendAttempt.Outcome.SENT,
                                    external_id=outcome.external_id, **outcome.attempt_fields)


def fail(message: Message, *, error: str, code: str, now: datetime | None = None,
         from_statuses: tuple[str, ...] = (Status.SENDING,)) -> Message | None:
    """→ failed; the fallback SMS fires when the message's (or the workspace's) flag is on and it is configured."""
    updated = state.fail(message, error=error, code=code, now=now, from_statuses=from_statuses)
    if updated is not None:
        fallback_request(updated, reason="failed")
    return updated


def retry_or_fail(message: Message, *, error: str, code: str, policy: RetryPolicy,
                  now: datetime | None = None, from_statuses: tuple[str, ...] = (Status.SENDING,)) -> Message | None:
    """The attempt did not send: give capacity back, then wait for the retry gap or give up.

    Per line (campaigns): the next of the message's line choices not tried yet, at once; none left → fail.
    """
    now = now or timezone.now()
    if policy.per_line:
        tried = [*message.lines_tried, *([message.line_id] if message.line_id else [])]
        untried = _untried_line(message, tried)
        if untried is None:
            return fail(message, error=f"{error} (tried on {len(tried)} line(s))", code=code, now=now,
                        from_statuses=from_statuses)
        state.release_reservation(message.pk)
        log.info("message.retry_on_another_line", messageId=message.pk, lineId=untried.pk, tried=tried,
                 correlationId=message.correlation_id)
        return state.wait_on_another_line(message, line=untried, tried=tried, error=error, now=now)
    if message.attempt_count >= policy.attempts:
        return fail(message, error=f"{error} (after {message.attempt_count} attempts)", code=code, now=now,
                    from_statuses=from_statuses)
    state.release_reservation(message.pk)
    block = Block(QueuedReason.RETRY_WAIT, now + timedelta(seconds=policy.gap_seconds), error, message.line_id)
    return state.wait(message, block, now=now, from_statuses=from_statuses)


def _untried_line(message: Message, tried: list[str]) -> Line | None:
    choices = [pk for pk in message.line_choices if pk not in tried]
    lines = {line.pk: line for line in Line.objects.filter(pk__in=choices, is_active=True)}
    return next((lines[pk] for pk in choices if pk in lines), None)


def line_fault(claimed: Claimed, detail: str) -> str:
    """The relay is down or refuses us (bad password, Private API helper gone): nothing was sent and the
    fault is the line's, not the message's. The line goes unhealthy; the message waits (or moves to a
    healthy line when it may) without spending one of its attempts."""
    message, line = claimed.message, claimed.line
    assert line is not None
    device_mark_unhealthy(device_id=line.device_id, reason=detail)
    state.release_reservation(message.pk)
    now = timezone.now()
    block = Block(QueuedReason.LINE_UNHEALTHY, now + timedelta(seconds=settings.TUCO_LINE_RECHECK_SECONDS), detail,
                  line.pk)
    state.wait_without_attempt(message, block, now=now)
    return "waiting"


def _unavailable(message: Message, outcome: Outcome) -> str:
    """No address of the recipient is on iMessage: status `fallback`, which fires the fallback SMS."""
    state.release_reservation(message.pk)
    reason = outcome.error.message if outcome.error else ""
    moved = state.transition(
        message.pk, to=Status.FALLBACK, allowed_from=(Status.SENDING,), reason="not_on_imessage",
        fields={"fallback_reason": reason, "checked_addresses": outcome.checked_addresses,
                "availability_from_cache": outcome.from_cache, "sending_since": None, "next_attempt_at": None},
        detail={"checkedAddresses": outcome.checked_addresses},
    )
    if moved is not None:
        log.info("message.fallback", messageId=message.pk, reason=reason, checkedAddresses=outcome.checked_addresses,
                 correlationId=message.correlation_id)
        fallback_request(moved, reason="imessage_unavailable")
    return "fallback"


# --- verification: an unknown outcome is looked up before anything else ------------------------------

PENDING, SENT, NOT_SENT, GONE = "pending", "sent", "not_sent", "gone"


def begin_verification(message: Message, attempt_id: int, *, policy: RetryPolicy, inline: bool) -> str:
    verify_until = timezone.now() + timedelta(seconds=policy.verify_seconds)
    attempts.attempt_verify_until(attempt_id, verify_until)
    log.info("message.verify.started", messageId=message.pk, attemptId=attempt_id,
             verifyUntil=verify_until.isoformat(), correlationId=message.correlation_id)
    if inline:
        while True:
            result = verify_once(message.pk, attempt_id, policy=policy)
            if result != PENDING or timezone.now() >= verify_until:
                return result
            time.sleep(policy.poll_seconds)
    schedule_poll(message.pk, attempt_id, policy.poll_seconds)
    return "verifying"


def schedule_poll(message_id: str, attempt_id: int, countdown: float) -> None:
    try:
        wake.publish(wake.VERIFY, message_id, attempt_id, countdown=countdown)
    except Exception as exc:  # broker down: the stuck-sending sweep verifies later
        log.warning("message.verify.enqueue_failed", messageId=message_id, error=str(exc))


def verify_once(message_id: str, attempt_id: int, *, policy: RetryPolicy | None = None, final: bool = False) -> str:
    """One look on the device; returns "pending", "sent", "not_sent", "gone" — or, when a confirmed part
    leaves others to send, what finishing the send did."""
    message = Message.objects.select_related("lead").filter(pk=message_id).first()
    attempt = SendAttempt.objects.select_related("line__device").filter(pk=attempt_id).first()
    if message is None or attempt is None or message.status != Status.SENDING:
        return GONE
    if attempt.outcome not in (SendAttempt.Outcome.UNKNOWN, SendAttempt.Outcome.IN_FLIGHT):
        return GONE
    policy = policy or policy_for(message)
    channel = channel_for(message)
    outcome = channel.verify(message, attempt, final=final)
    if outcome.result == Result.PENDING:
        return PENDING
    if outcome.result == Result.GONE:
        return GONE
    if outcome.result == Result.PART_CONFIRMED:
        message.refresh_from_db(fields=["parts_sent"])
        claimed = Claimed(message=message, line=attempt.line, attempt=attempt)
        result = settle(claimed, channel.send(claimed, resume=True), channel=channel, policy=policy, inline=False)
        return SENT if result == "sent" else result
    if outcome.result == Result.SENT:
        _sent(message, outcome)
        return SENT
    assert outcome.error is not None
    retry_or_fail(message, error=outcome.error.message, code=outcome.error.code, policy=policy)
    return NOT_SENT


def verify_poll(message_id: str, attempt_id: int) -> str:
    """The verify task: one look, and another one later while the window is open."""
    result = verify_once(message_id, attempt_id)
    if result == PENDING:
        deadline = SendAttempt.objects.filter(pk=attempt_id).values_list("verify_until", flat=True).first()
        if deadline and timezone.now() < deadline:
            schedule_poll(message_id, attempt_id, settings.TUCO_VERIFY_POLL_SECONDS)
    return result
