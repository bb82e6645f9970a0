"""The Celery app. The database is the queue of truth; the broker only wakes workers."""

from __future__ import annotations

import contextlib
import os

from celery import Celery
from celery.signals import setup_logging, task_prerun, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tuco.settings")

app = Celery("tuco")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def _use_django_logging(**_: object) -> None:
    # Keep the structlog JSON formatter from settings.LOGGING in worker and beat.
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


@task_prerun.connect
def _fresh_log_context(**_: object) -> None:
    from tuco.logging import clear_context

    clear_context()


@app.on_after_finalize.connect
def _beat_schedule(sender: Celery, **_: object) -> None:
    from tuco.schedule import beat_schedule

    sender.conf.beat_schedule = beat_schedule()


@worker_ready.connect
def _check_lines_at_start(**_: object) -> None:
    # Lines added while their relay was down (e.g. `make run` creates the demo line before the
    # simulator starts) get their inbound webhook registered now rather than at the next health beat.
    from messaging.tasks import check_lines_health

    with contextlib.suppress(Exception):  # the beat schedule runs the same check shortly anyway
        check_lines_health.apply_async(countdown=2)
