"""Beat sweeps: the database is the queue of truth, these keep it moving.

- `sweep_due_messages`: re-enqueue due pending/queued/scheduled rows. Uses the
  partial index on next_attempt_at (only claimable rows are in it) and
  `FOR UPDATE SKIP LOCKED`, so its cost follows the due rows, not the backlog,
  and two beats never enqueue the same batch.
- `sweep_stuck_sending`: rows in `sending` longer than the stuck threshold are
  verified against the relay — sent, or back to the retry path — never resent blindly.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from messaging.models import Message, SendAttempt, Status
from tuco.logging import get_logger

log = get_logger(__name__)

# A row the sweep (or a countdown) enqueued is not enqueued again for this long.
ENQUEUE_LEASE = timedelta(seconds=60)
_TABLE = Message._meta.db_table


def claim_due_batch(*, now, batch_size: int) -> list[str]:
    """Mark up to batch_size due rows as enqueued; return their ids oldest-created first (per-line FIFO)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f'WITH due AS (SELECT id FROM "{_TABLE}" '
            "WHERE status IN ('pending', 'queued', 'scheduled') AND next_attempt_at <= %s "
            "AND (enqueued_at IS NULL OR enqueued_at < %s) "
            "ORDER BY next_attempt_at, id LIMIT %s FOR UPDATE SKIP LOCKED) "
            f'UPDATE "{_TABLE}" m SET enqueued_at = %s FROM due WHERE m.id = due.id '
            "RETURNING m.id, m.next_attempt_at",
            [now, now - ENQUEUE_LEASE, batch_size, now],
        )
        rows = cursor.fetchall()
    return sorted(row[0] for row in rows)  # ids are time-ordered: creation order


def sweep_due_messages(*, now=None, max_batches: int = 20) -> int:
    from messaging.tasks import dispatch_message

    now = now or timezone.now()
    total = 0
    for _ in range(max_batches):
        ids = claim_due_batch(now=now, batch_size=settings.TUCO_SWEEP_BATCH_SIZE)
        for message_id in ids:
            try:
                dispatch_message.apply_async(args=[message_id])
            except Exception as exc:  # broker down: release the lease so the next sweep retries
                log.warning("sweep.enqueue_failed", messageId=message_id, error=str(exc))
                Message.objects.filter(pk__in=ids).update(enqueued_at=None)
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
    from messaging.outcomes import individual_policy
    from messaging.stuck import resolve_stuck

    now = now or timezone.now()
    stuck = list(Message.objects.filter(status=Status.SENDING, sending_since__lt=now - stuck_threshold())
                 .order_by("sending_since").values_list("id", flat=True)[:limit])
    for message_id in stuck:
        verifying = SendAttempt.objects.filter(message_id=message_id, verify_until__gt=now,
                                               outcome=SendAttempt.Outcome.UNKNOWN).exists()
        if not verifying:
            resolve_stuck(message_id, policy=individual_policy())
    return len(stuck)


# A pending fallback whose task was lost is re-enqueued after this long; one stuck in `sending`
# (worker killed mid-call) is closed as unknown after FALLBACK_STUCK: never sent twice.
FALLBACK_LEASE = timedelta(seconds=30)
FALLBACK_STUCK = timedelta(minutes=10)


def sweep_fallbacks(*, now=None, limit: int = 200) -> dict[str, int]:
    from messaging.fallback_hook import enqueue_fallback
    from messaging.models import FallbackStatus

    now = now or timezone.now()
    pending = list(Message.objects.filter(fallback_sms_status=FallbackStatus.PENDING,
                                          updated_at__lt=now - FALLBACK_LEASE).values_list("id", flat=True)[:limit])
    for message_id in pending:
        if Message.objects.filter(pk=message_id, fallback_sms_status=FallbackStatus.PENDING).update(updated_at=now):
            enqueue_fallback(message_id, "sweep")
    stuck = Message.objects.filter(fallback_sms_status=FallbackStatus.SENDING, updated_at__lt=now - FALLBACK_STUCK)\
        .update(fallback_sms_status=FallbackStatus.FAILED, updated_at=now,
                fallback_error="fallback outcome unknown: the worker stopped mid-send; not resent to avoid a duplicate")
    if pending or stuck:
        log.info("sweep.fallbacks", requeued=len(pending), closedStuck=stuck)
    return {"requeued": len(pending), "closedStuck": stuck}
