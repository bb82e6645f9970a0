"""Ringing the broker's doorbell: publish a task of messaging.tasks by its registered name.

The database row is the truth and the broker only wakes a worker, so a refused publish loses
nothing (the beat sweeps find the row). The send layers wake workers without importing the task
layer above them: the task object is looked up in the Celery app's registry by the name
messaging.tasks registers it under (the names are the tasks' historic ones, so messages already
in the broker keep working across deploys).
"""

from __future__ import annotations

from typing import Any

from tuco.celery import task_named

DISPATCH = "messaging.tasks.dispatch_message"
VERIFY = "messaging.tasks.verify_send"
FALLBACK_SMS = "messaging.tasks.dispatch_fallback"

# Celery countdowns stay far below the broker's visibility timeout; longer waits are the sweep's job.
MAX_COUNTDOWN_SECONDS = 300


def publish(task_name: str, *args: Any, countdown: float | None = None) -> None:
    """Hand one task to the broker. Raises whatever the broker raises when it is down."""
    task = task_named(task_name)
    if countdown is None:
        task.apply_async(args=list(args))
    else:
        task.apply_async(args=list(args), countdown=countdown)
