"""Celery tasks: thin shells (ids in, a service call, Celery concerns only)."""

from __future__ import annotations

from celery import shared_task

from tuco.task_policies import RETRY_ON_LOST_DATABASE


@shared_task(acks_late=True, ignore_result=True, **RETRY_ON_LOST_DATABASE)
def dispatch_message(message_id: str) -> None:
    from messaging.sending import send_message

    send_message(message_id)


@shared_task(acks_late=True, ignore_result=True, **RETRY_ON_LOST_DATABASE)
def verify_send(message_id: str, attempt_id: int) -> None:
    from django.utils import timezone

    from messaging.models import SendAttempt
    from messaging.outcomes import individual_policy
    from messaging.verification import PENDING, schedule_poll, verify_once

    policy = individual_policy()
    if verify_once(message_id, attempt_id, policy=policy) == PENDING:
        deadline = SendAttempt.objects.filter(pk=attempt_id).values_list("verify_until", flat=True).first()
        if deadline and timezone.now() < deadline:
            schedule_poll(message_id, attempt_id, policy.poll_seconds)


@shared_task(ignore_result=True)
def sweep_due_messages() -> int:
    from messaging.sweeps import sweep_due_messages as sweep

    return sweep()


@shared_task(ignore_result=True)
def sweep_stuck_sending() -> int:
    from messaging.sweeps import sweep_stuck_sending as sweep

    return sweep()


@shared_task(ignore_result=True)
def purge_expired() -> dict[str, int]:
    from django.utils import timezone

    from messaging.dedup import dedup_purge_expired
    from tuco.idempotency import idempotency_purge_expired

    return {"dedup": dedup_purge_expired(now=timezone.now()), "idempotency": idempotency_purge_expired()}


@shared_task(ignore_result=True)
def check_lines_health() -> dict[str, int]:
    from lines.health import lines_health_check

    return lines_health_check()


@shared_task(acks_late=True, ignore_result=True, **RETRY_ON_LOST_DATABASE)
def dispatch_fallback(message_id: str, reason: str) -> None:
    from fallback.services import fallback_dispatch

    fallback_dispatch(message_id=message_id, reason=reason)


@shared_task(ignore_result=True)
def sweep_fallbacks() -> dict[str, int]:
    from messaging.sweeps import sweep_fallbacks as sweep

    return sweep()


@shared_task(ignore_result=True)
def reconcile_receipts() -> dict[str, int]:
    from messaging.receipts import reconcile_receipts as reconcile

    return reconcile()
