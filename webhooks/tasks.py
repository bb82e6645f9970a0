"""Celery tasks of outgoing webhooks: thin shells around webhooks.delivery."""

from __future__ import annotations

from celery import shared_task

from tuco.metrics import timed_sweep
from tuco.task_policies import RETRY_ON_LOST_DATABASE
from webhooks.delivery import DELIVER_EVENT_TASK, deliver_due, deliver_event


@shared_task(name=DELIVER_EVENT_TASK, acks_late=True, ignore_result=True, **RETRY_ON_LOST_DATABASE)
def deliver_webhook_event(event_pk: int) -> str:
    """One try of one outbox event (a no-op unless the claim succeeds, so duplicates are harmless)."""
    return deliver_event(event_pk)


@shared_task(name="tuco.webhooks.tasks.deliver_due_webhooks", ignore_result=True)
@timed_sweep("webhooks_due")
def deliver_due_webhooks() -> int:
    """Beat, every TUCO_SWEEP_INTERVAL_SECONDS: release stuck tries, enqueue due events."""
    return deliver_due()
