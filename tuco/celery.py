"""The Celery app. The database is the queue of truth; the broker only wakes workers."""

from __future__ import annotations

import contextlib
import os

from celery import Celery, Task
from celery.signals import setup_logging, task_postrun, task_prerun, worker_init, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tuco.settings")

def _survive_broker_loss_with_unacked_messages() -> None:
    """kombu restores unacknowledged messages when a channel closes. If the broker connection is already
    gone (Redis restarted), that restore dereferences the dead connection and the AttributeError kills
    the worker (the celery/kombu#970, #582 family; still in kombu 5.7). Countdown tasks are held unacked,
    so for us this is the common case. Nothing is lost by skipping the restore: the messages stay in
    Redis' unacked set and come back after the visibility timeout, and the database sweeps re-enqueue
    every due row long before that. So: log it and keep the worker alive."""
    from kombu.transport.virtual.base import QoS

    original = QoS.restore_unacked_once

    def restore_unacked_once(self: QoS, stderr: object = None) -> object:
        try:
            return original(self, stderr)
        except AttributeError as exc:
            import logging

            logging.getLogger("tuco.celery").warning("broker gone while restoring unacked messages: %s", exc)
            return None

    QoS.restore_unacked_once = restore_unacked_once  # type: ignore[method-assign]


def _survive_acks_on_a_channel_closed_by_broker_loss() -> None:
    """The same family, one step later: a task that was running while Redis restarted finishes after the
    consumer reconnected, and its late ack goes to the channel of the old connection, which is closed
    (its `connection` is None). kombu's Redis QoS dereferences it inside the event loop, and the
    AttributeError is "Unrecoverable" for the worker: every worker exits (bench/scale_out.py found it,
    tests/e2e/test_relay_flow.py shows it). The ack has nowhere to go: the old connection's unacked
    entry is in the restarted Redis or comes back after the visibility timeout, and a redelivered
    dispatch finds its row already sent (the claim is in the database). So: log it and keep consuming."""
    import logging

    from kombu.transport.redis import QoS

    for name in ("ack", "reject"):
        original = getattr(QoS, name)

        def guarded(self: QoS, delivery_tag: object, *args: object, _original: object = original,
                    _name: str = name, **kwargs: object) -> object:
            try:
                return _original(self, delivery_tag, *args, **kwargs)  # type: ignore[operator]
            except AttributeError as exc:
                if getattr(self.channel, "connection", None) is not None:
                    raise
                logging.getLogger("tuco.celery").warning("%s on a channel closed by a broker loss, dropped: %s",
                                                         _name, exc)
                return None

        setattr(QoS, name, guarded)


_survive_broker_loss_with_unacked_messages()
_survive_acks_on_a_channel_closed_by_broker_loss()

app = Celery("tuco")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["messaging.attachments"])  # not an app of its own


def task_named(name: str) -> Task:
    """A registered task by name, for code below the task modules that publishes them (the send path,
    the webhook outbox). Outside a worker the task modules are imported on first need, the way the
    worker imports them at start (Celery's default-modules import runs the autodiscovery)."""
    try:
        return app.tasks[name]
    except KeyError:
        app.loader.import_default_modules()
        return app.tasks[name]


@setup_logging.connect
def _use_django_logging(**_: object) -> None:
    # Keep the structlog JSON formatter from settings.LOGGING in worker and beat.
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


@task_prerun.connect
def _fresh_task_context(sender: object = None, **_: object) -> None:
    from django.db import close_old_connections

    from tuco.logging import clear_context

    clear_context()
    # Like a web request: drop connections past CONN_MAX_AGE or unusable. Not for a task applied in
    # the caller's process (`.apply()`), whose connection and open transaction belong to the caller.
    if not getattr(getattr(sender, "request", None), "is_eager", False):
        close_old_connections()


@app.on_after_finalize.connect
def _beat_schedule(sender: Celery, **_: object) -> None:
    from tuco.schedule import beat_schedule

    sender.conf.beat_schedule = beat_schedule()


@worker_ready.connect
def _check_lines_at_start(**_: object) -> None:
    # Lines added while their relay was down (e.g. `make run` creates the demo line before the
    # simulator starts) get their inbound webhook registered now rather than at the next health beat.
    with contextlib.suppress(Exception):  # the beat schedule runs the same check shortly anyway
        app.send_task("messaging.tasks.check_lines_health", countdown=2)


@task_prerun.connect
def _task_metrics_start(task_id: str | None = None, **_: object) -> None:
    from tuco.metrics import task_started

    task_started(task_id)


@task_postrun.connect
def _task_metrics_end(task_id: str | None = None, task: object = None, state: str | None = None, **_: object) -> None:
    from tuco.metrics import task_finished

    task_finished(task_id, task=task, state=state)


@worker_init.connect
def _serve_worker_metrics(**_: object) -> None:
    # This worker's own metrics (relay calls, send latency, webhook deliveries, sweeps, tasks) on
    # TUCO_WORKER_METRICS_PORT; Prometheus scrapes each worker (docs/deployment.md "Metrics").
    from tuco.metrics import worker_metrics_serve

    worker_metrics_serve()
