"""Celery tasks: thin shells (ids in, a service call, Celery concerns only).

The names are stable (messaging.send.wake publishes by name, and tasks already in the broker keep
working across deploys): keep them when moving code.
"""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from messaging.dedup import dedup_purge_expired
from messaging.inbound.receipts import reconcile_receipts as reconcile
from messaging.send import outcomes, wake, worker
from messaging.send.dispatcher import send_message
from messaging.send.fallback import fallback_sms_send
from tuco.idempotency import idempotency_purge_expired
from tuco.metrics import timed_sweep
from tuco.task_policies import RETRY_ON_LOST_DATABASE


@shared_task(name=wake.DISPATCH, acks_late=True, ignore_result=True, **RETRY_ON_LOST_DATABASE)
def dispatch_message(message_id: str) -> None:
    send_message(message_id)


@shared_task(name=wake.VERIFY, acks_late=True, ignore_result=True, **RETRY_ON_LOST_DATABASE)
def verify_send(message_id: str, attempt_id: int) -> None:
    outcomes.verify_poll(message_id, attempt_id)


@shared_task(name=wake.FALLBACK_SMS, acks_late=True, ignore_result=True, **RETRY_ON_LOST_DATABASE)
def send_fallback_sms(message_id: str, reason: str) -> None:
    fallback_sms_send(message_id=message_id, reason=reason)


@shared_task(ignore_result=True)
@timed_sweep("due")
def sweep_due_messages() -> int:
    return worker.sweep_due_messages()


@shared_task(ignore_result=True)
@timed_sweep("stuck_sending")
def sweep_stuck_sending() -> int:
    return worker.sweep_stuck_sending()


@shared_task(ignore_result=True)
@timed_sweep("fallbacks")
def sweep_fallbacks() -> dict[str, int]:
    return worker.sweep_fallbacks()


@shared_task(ignore_result=True)
def check_lines_health() -> dict[str, int]:
    return worker.check_lines_health()


@shared_task(ignore_result=True)
def reconcile_receipts() -> dict[str, int]:
    return reconcile()


@shared_task(ignore_result=True)
def purge_expired() -> dict[str, int]:
    return {"dedup": dedup_purge_expired(now=timezone.now()), "idempotency": idempotency_purge_expired()}
