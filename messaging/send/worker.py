"""Keeping the queue moving: waking a worker for a committed message, the beat sweeps, stuck sends,
and the inline send while the broker is down. The database is the queue of truth; these find every
row the broker forgot.

- `enqueue_dispatch`: publish the dispatch task on commit; when the broker refuses, the send runs
  inline in this process instead (spec: "app sync fallback", SYNC_FALLBACK_* settings) and the
  row stays due for the sweep either way.
- `sweep_due_messages`: re-enqueue due pending/queued/scheduled rows (cost follows the due rows, not
  the backlog; two beats never lease the same row: messaging.send.state.claim_due_batch).
- `sweep_stuck_sending`: rows in `sending` longer than the stuck threshold are resolved from their
  last attempt, verified on the device where the channel can — never resent blindly.
- `sweep_fallbacks`: pending fallback SMS whose task was lost are re-enqueued; ones a dead worker
  left mid-call are closed as unknown.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from lines.health import lines_health_check
from messaging.models import FallbackStatus, Message, SendAttempt, Status
from messaging.send import outcomes, state, wake
from messaging.send.channels import channel_for
from messaging.send.dispatcher import send_message
from messaging.send.fallback import fallback_enqueue
from messaging.send.outcome import RetryPolicy, inline_policy, policy_for
from tuco.logging import get_logger

log = get_logger(__name__)


# --- waking a worker -------------------------------------------------------------------------------

def enqueue_dispatch(message_id: str) -> bool:
    """Publish the dispatch task; on a broker failure start the inline send. Never raises."""
    try:
        wake.publish(wake.DISPATCH, message_id)
        return True
    except Exception as exc:  # kombu raises several types for "broker down"
        log.warning("message.enqueue_failed", messageId=message_id, error=str(exc))
        # Not enqueued after all (message_create counted it as enqueued): the next sweep may take it.
        try:
            state.release_enqueue_lease([message_id])
        except Exception as db_exc:  # the row is committed; the sweep takes it after the lease anyway
            log.warning("message.enqueue_release_failed", messageId=message_id, error=str(db_exc))
        start_inline_send(message_id)
        return False


# --- the inline send while the broker is down -----------------------------------------------------------
# The row is already committed, so nothing is lost either way; this only makes the message go now
# instead of when the broker is back. It runs the same dispatch (same claim, same gates) in a daemon
# thread: up to SYNC_FALLBACK_RETRY_ATTEMPTS passes, SYNC_FALLBACK_RETRY_GAP_SECONDS apart, verifying
# unknown outcomes in-process. Whatever is left is picked up by the beat sweep.

# Waits longer than this are left to the sweep (a web process must not hold threads for hours).
MAX_INLINE_WAIT_SECONDS = 120


def run_inline_send(message_id: str) -> str:
    policy = inline_policy()
    outcome = "gone"
    for attempt in range(1, policy.attempts + 1):
        outcome = send_message(message_id, inline=True, policy=policy)
        log.info("message.inline_send.pass", messageId=message_id, attempt=attempt, outcome=outcome)
        if outcome not in ("waiting", "not_due"):
            return outcome
        due = Message.objects.filter(pk=message_id).values_list("next_attempt_at", flat=True).first()
        delay = (due - timezone.now()).total_seconds() if due else policy.gap_seconds
        if delay > MAX_INLINE_WAIT_SECONDS:
            return outcome
        time.sleep(max(0.0, delay) + 0.05)
    return outcome


def start_inline_send(message_id: str) -> threading.Thread:
    def run() -> None:
        close_old_connections()
        try:
            run_inline_send(message_id)
        except Exception:
            log.exception("message.inline_send.crashed", messageId=message_id)
        finally:
            connection.close()

    thread = threading.Thread(target=run, name=f"inline-send-{message_id}", daemon=True)
    thread.start()
    log.warning("message.inline_send.started", messageId=message_id)
    return thread


# --- sweeps ----------------------------------------------------------------------------------------------

def sweep_due_messages(*, now=None, max_batches: int = 20) -> int:
    now = now or timezone.now()
    total = 0
    for _ in range(max_batches):
        ids = state.claim_due_batch(now=now, batch_size=settings.TUCO_SWEEP_BATCH_SIZE)
        for message_id in ids:
            try:
                wake.publish(wake.DISPATCH, message_id)
            except Exception as exc:  # broker down: release the lease so the next sweep retries
                log.warning("sweep.enqueue_failed", messageId=message_id, error=str(exc))
                state.release_enqueue_lease(ids)
                return total
            total += 1
        if len(ids) < settings.TUCO_SWEEP_BATCH_SIZE:
            break
    if total:
        log.info("sweep.due_enqueued", count=total)
    return total


def stuck_threshold() -> timedelta:
    # Never shorter than one relay call can legitimately take, or a slow send would be "stuck".
    return timedelta(seconds=max(settings.TUCO_SENDING_STUCK_SECONDS, settings.TUCO_RELAY_TIMEOUT_SECONDS + 10))


def sweep_stuck_sending(*, now=None, limit: int = 100) -> int:
    now = now or timezone.now()
    stuck = list(Message.objects.filter(status=Status.SENDING, sending_since__lt=now - stuck_threshold())
                 .order_by("sending_since").values_list("id", flat=True)[:limit])
    for message_id in stuck:
        verifying = SendAttempt.objects.filter(message_id=message_id, verify_until__gt=now,
                                               outcome=SendAttempt.Outcome.UNKNOWN).exists()
        if not verifying:
            resolve_stuck(message_id)
    return len(stuck)


def resolve_stuck(message_id: str, *, policy: RetryPolicy | None = None) -> str:
    """A message found in `sending` long after its worker should have finished: its last attempt says."""
    message = Message.objects.filter(pk=message_id, status=Status.SENDING).first()
    if message is None:
        return "gone"
    policy = policy or policy_for(message)
    attempt = SendAttempt.objects.filter(message_id=message_id).order_by("-number", "-id").first()
    log.warning("message.sending_stuck", messageId=message_id, attempt=attempt.number if attempt else None,
                correlationId=message.correlation_id)
    if attempt is None:
        # Claimed but no attempt recorded: nothing reached a relay.
        return _back_to_retry(message, policy, "worker stopped before sending")
    if attempt.outcome == SendAttempt.Outcome.SENT:
        state.mark_sent(message_id, guid=attempt.external_id, via="recovered", attempt_id=attempt.pk)
        return "sent"
    if attempt.outcome == SendAttempt.Outcome.NOT_SENT:
        return _back_to_retry(message, policy, attempt.error or "attempt did not send")
    if not channel_for(message).can_verify:
        # SMS/email providers cannot be asked after the fact; resending could duplicate.
        outcomes.fail(message, error="send outcome unknown: the worker stopped mid-send; not retried to avoid a "
                                     "duplicate", code="SEND_OUTCOME_UNKNOWN")
        return "failed"
    return outcomes.verify_once(message_id, attempt.pk, policy=policy, final=True)


def _back_to_retry(message: Message, policy: RetryPolicy, error: str) -> str:
    updated = outcomes.retry_or_fail(message, error=error, code="SEND_FAILED", policy=policy)
    return "failed" if updated is not None and updated.status == Status.FAILED else "waiting"


# A pending fallback whose task was lost is re-enqueued after this long; one stuck in `sending`
# (worker killed mid-call) is closed as unknown after FALLBACK_STUCK: never sent twice.
FALLBACK_LEASE = timedelta(seconds=30)
FALLBACK_STUCK = timedelta(minutes=10)


def sweep_fallbacks(*, now=None, limit: int = 200) -> dict[str, int]:
    now = now or timezone.now()
    pending = list(Message.objects.filter(fallback_sms_status=FallbackStatus.PENDING,
                                          updated_at__lt=now - FALLBACK_LEASE).values_list("id", flat=True)[:limit])
    for message_id in pending:
        if state.fallback_renew_request(message_id, now):
            fallback_enqueue(message_id, "sweep")
    stuck = state.fallback_close_stuck(now=now, stuck_since=now - FALLBACK_STUCK)
    if pending or stuck:
        log.info("sweep.fallbacks", requeued=len(pending), closedStuck=stuck)
    return {"requeued": len(pending), "closedStuck": stuck}


def check_lines_health() -> dict[str, int]:
    """Beat job: re-check unhealthy devices; messages waiting on a device that healed may go now."""
    result = lines_health_check()
    now = timezone.now()
    for device_id in result.pop("healedDevices", []):
        state.wake_lines_healed(device_id=device_id, at=now)
    return result
