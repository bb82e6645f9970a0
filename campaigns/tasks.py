"""Celery tasks of campaigns: thin shells."""

from __future__ import annotations

from celery import shared_task

from campaigns.engine import sweep_due_enrollments


@shared_task(name="campaigns.tasks.sweep_campaigns", ignore_result=True)
def sweep_campaigns() -> dict[str, int]:
    """Beat, every TUCO_SWEEP_INTERVAL_SECONDS: the steps that came due."""
    return sweep_due_enrollments()
