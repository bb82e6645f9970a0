"""What happens after a send attempt: sent, wait (with a reason), retry after the gap, or fail.

Every function here goes through `messaging.lifecycle`; the capacity a claim
held is given back exactly once when the send did not happen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import DateTimeField, F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from lines.capacity import capacity_release
from messaging import lifecycle
from messaging.gates import Block
from messaging.models import CLAIMABLE, Message, SendAttempt, Status, Thread
from tuco.logging import get_logger

log = get_logger(__name__)

# Celery countdowns stay far below the broker's visibility timeout; longer waits are the sweep's job.
MAX_COUNTDOWN_SECONDS = 300

# The spec's log event names for "why is it queued?".
WAIT_EVENTS = {
    "scheduled": "individual.message.validation_failed",
    "time_window": "individual.message.validation_failed",
    "day_not_allowed": "individual.message.validation_failed",
    "line_daily_total": "message.queued_limit",
    "line_daily_new": "message.queued_limit",
    "line_first_touch_hour": "message.queued_limit",
    "device_gap": "individual.message.device_gap_not_met",
    "contact_gap": "individual.message.gap_not_met",
}


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int
    verify_seconds: float
    gap_seconds: float
    poll_seconds: float


def individual_policy() -> RetryPolicy:
    return RetryPolicy(attempts=settings.UNIBOX_REPLY_RETRY_ATTEMPTS,
                       verify_seconds=settings.UNIBOX_REPLY_RETRY_VERIFY_SECONDS,
                       gap_seconds=settings.UNIBOX_REPLY_RETRY_GAP_SECONDS,
                       poll_seconds=settings.TUCO_VERIFY_POLL_SECONDS)


def sync_policy() -> RetryPolicy:
    return RetryPolicy(attempts=settings.SYNC_FALLBACK_RETRY_ATTEMPTS,
                       verify_seconds=settings.UNIBOX_REPLY_RETRY_VERIFY_SECONDS,
                       gap_seconds=settings.SYNC_FALLBACK_RETRY_GAP_SECONDS,
                       poll_seconds=settings.TUCO_VERIFY_POLL_SECONDS)


def attempt_finish(attempt_id: int, *, outcome: str, started: datetime | None = None, response_code: int | None = None,
                   error_class: str = "", error: str = "", external_id: str = "", **extra: Any) -> None:
    now = timezone.now()
    fields: dict[str, Any] = {"outcome": outcome, "finished_at": now, "error_class": error_class,
                              "error": error[:2000], **extra}
    if started is not None:
        fields["duration_ms"] = int((now - started).total_seconds() * 1000)
    if response_code is not None:
        fields["response_code"] = response_code
    if external_id:
        fields["external_id"] = external_id
    SendAttempt.objects.filter(pk=attempt_id).update(**fields)


def release_reservation(message_id: str) -> bool:
    """Give back the capacity the current claim holds, once (a guarded clear decides who releases)."""
    table = Message._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f'WITH old AS (SELECT id, reservation FROM "{table}" WHERE id = %s AND reservation IS NOT NULL '
            f'FOR UPDATE) UPDATE "{table}" m SET reservation = NULL FROM old WHERE m.id = old.id '
            "RETURNING old.reservation",
            [message_id],
        )
        row = cursor.fetchone()
    if row is None:
        return False
    reservation = row[0]
    if isinstance(reservation, str):
        import json

        reservation = json.loads(reservation)
    capacity_release(reservation=reservation, message_id=message_id)
    return True


def mark_sent(message_id: str, *, guid: str, via: str, attempt_id: int | None = None,
              now: datetime | None = None, message_fields: dict[str, Any] | None = None,
              attempt_fields: dict[str, Any] | None = None) -> Message | None:
    """`sending → sent`, with the attempt, the thread's sticky line and the caller's last writes
    (`message_fields`, `attempt_fields`) in one transaction: one commit per send."""
    now = now or timezone.now()
    with transaction.atomic():
        updated = lifecycle.transition(
            message_id, to=Status.SENT, allowed_from=(Status.SENDING,), reason=via,
            fields={"sent_at": now, "external_message_id": guid, "sending_since": None, "next_attempt_at": None,
                    "error": "", "error_code": "", **(message_fields or {})},
            detail={"guid": guid}, now=now,
        )
        if attempt_id is not None:
            SendAttempt.objects.filter(pk=attempt_id).exclude(outcome=SendAttempt.Outcome.SENT).update(
                outcome=SendAttempt.Outcome.SENT, external_id=guid, finished_at=now, **(attempt_fields or {}))
        if updated is not None and updated.thread_id and updated.line_id:
            # The sticky line is the one the recipient actually heard from.
            Thread.objects.filter(pk=updated.thread_id).update(
                line_id=updated.line_id, started_at=Coalesce(F("started_at"), Value(now, output_field=DateTimeField())))
    if updated is not None:
        log.info("message.send.summary", messageId=message_id, lineId=updated.line_id, status="sent", via=via,
                 attempts=updated.attempt_count, correlationId=updated.correlation_id)
    return updated


def schedule_dispatch(message_id: str, at: datetime, *, now: datetime | None = None) -> None:
    """Wake a worker at `at` if that is soon; otherwise the due-messages sweep will."""
    now = now or timezone.now()
    delay = (at - now).total_seconds()
    if delay > MAX_COUNTDOWN_SECONDS:
        return
    from messaging.tasks import dispatch_message

    try:
        dispatch_message.apply_async(args=[message_id], countdown=max(0.0, delay))
    except Exception as exc:  # broker down: the sweep picks the row up once it is back
        log.warning("message.enqueue_failed", messageId=message_id, error=str(exc))
        Message.objects.filter(pk=message_id).update(enqueued_at=None)


def wait(message: Message, block: Block, *, now: datetime | None = None, from_statuses: tuple[str, ...] = CLAIMABLE,
         extra_fields: dict[str, Any] | None = None) -> Message | None:
    """Hold the message until `block.next_at`, saying why; a repeat of the same wait adds no timeline entry."""
    now = now or timezone.now()
    to = Status.SCHEDULED if block.reason == "scheduled" else Status.QUEUED
    soon = (block.next_at - now).total_seconds() <= MAX_COUNTDOWN_SECONDS
    fields: dict[str, Any] = {"queued_reason": block.reason, "next_attempt_at": block.next_at,
                              "enqueued_at": block.next_at if soon else None, "sending_since": None,
                              **(extra_fields or {})}
    if block.reason in ("retry_wait", "line_unhealthy", "relay_unreachable") and block.detail:
        fields["error"] = block.detail[:2000]
    if message.status == to and message.queued_reason == block.reason:
        fields.pop("sending_since")
        lifecycle.update_fields(message.pk, allowed_statuses=(to,), **fields)
        updated: Message | None = message
    else:
        updated = lifecycle.transition(message.pk, to=to, allowed_from=from_statuses, reason=block.reason,
                                       fields=fields, detail={"nextAttemptAt": block.next_at.isoformat(),
                                                              "detail": block.detail, "lineId": block.line_id},
                                       now=now)
    if updated is not None:
        log.info(WAIT_EVENTS.get(block.reason, "message.queued"), messageId=message.pk,
                 lineId=block.line_id or message.line_id, reason=block.reason,
                 nextAttemptAt=block.next_at.isoformat(), correlationId=message.correlation_id,
                 workspaceId=message.workspace_id, detail=block.detail)
        if soon:
            transaction.on_commit(lambda: schedule_dispatch(message.pk, block.next_at, now=now))
    return updated


def fail(message: Message, *, error: str, code: str, now: datetime | None = None,
         from_statuses: tuple[str, ...] = (Status.SENDING,)) -> Message | None:
    now = now or timezone.now()
    release_reservation(message.pk)
    updated = lifecycle.transition(
        message.pk, to=Status.FAILED, allowed_from=from_statuses, reason=code.lower(),
        fields={"error": error[:2000], "error_code": code, "sending_since": None, "next_attempt_at": None,
                "queued_reason": ""},
        detail={"error": error[:500]}, now=now,
    )
    if updated is not None:
        log.warning("message.send.summary", messageId=message.pk, lineId=updated.line_id, status="failed",
                    errorCode=code, error=error[:300], attempts=updated.attempt_count,
                    correlationId=updated.correlation_id)
        from messaging.fallback_hook import after_failure

        after_failure(updated)
    return updated


def retry_or_fail(message: Message, *, error: str, code: str, policy: RetryPolicy,
                  now: datetime | None = None, from_statuses: tuple[str, ...] = (Status.SENDING,)) -> Message | None:
    """The attempt did not send: give capacity back, then wait for the retry gap or give up."""
    now = now or timezone.now()
    if message.attempt_count >= policy.attempts:
        return fail(message, error=f"{error} (after {message.attempt_count} attempts)", code=code, now=now,
                    from_statuses=from_statuses)
    release_reservation(message.pk)
    block = Block("retry_wait", now + timedelta(seconds=policy.gap_seconds), error, message.line_id)
    return wait(message, block, now=now, from_statuses=from_statuses)
