"""Code below the task layer publishes tasks by name (messaging.send.wake, the webhook outbox): the names
must resolve in a process that never imported a task module (a web process), and stay the historic ones."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PUBLISHED = ("messaging.tasks.dispatch_message", "messaging.tasks.verify_send", "messaging.tasks.dispatch_fallback",
             "tuco.webhooks.tasks.deliver_webhook_event")


def test_published_task_names_resolve_in_a_fresh_process() -> None:
    script = (
        "import sys, django; django.setup()\n"
        "assert 'messaging.tasks' not in sys.modules\n"
        "from tuco.celery import task_named\n"
        f"print(','.join(task_named(n).name for n in {PUBLISHED!r}))\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tuco.test_settings"}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().split(",") == list(PUBLISHED)


def test_the_publishers_use_the_registered_names() -> None:
    from messaging.send import wake
    from webhooks import delivery

    assert (wake.DISPATCH, wake.VERIFY, wake.FALLBACK_SMS, delivery.DELIVER_EVENT_TASK) == PUBLISHED


def test_sends_webhooks_and_fallbacks_have_queues_of_their_own_and_the_procfile_consumes_each() -> None:
    """The Procfile's workers consume disjoint queues that together cover every queue the tasks use."""
    import re

    from django.conf import settings

    routes = settings.CELERY_TASK_ROUTES
    assert routes["messaging.tasks.dispatch_message"]["queue"] == routes["messaging.tasks.verify_send"]["queue"]
    queues = {routes[name]["queue"] for name in PUBLISHED}
    assert len(queues) == 3 and settings.CELERY_TASK_DEFAULT_QUEUE not in queues  # sends, webhooks, fallback
    declared = {queue.name for queue in settings.CELERY_TASK_QUEUES}
    consumed: list[str] = []
    for line in (ROOT / "Procfile").read_text().splitlines():
        if " worker " in line:
            consumed += re.search(r"-Q (\S+)", line).group(1).split(",")
    assert sorted(consumed) == sorted(declared) == sorted({*queues, settings.CELERY_TASK_DEFAULT_QUEUE})


def test_tasks_carry_time_limits() -> None:
    """Enforced by prefork workers; under the threads pool each outbound call's deadline bounds a task."""
    from django.conf import settings

    assert 0 < settings.CELERY_TASK_SOFT_TIME_LIMIT < settings.CELERY_TASK_TIME_LIMIT
    delivery_limits = settings.CELERY_TASK_ANNOTATIONS["tuco.webhooks.tasks.deliver_webhook_event"]
    assert delivery_limits["soft_time_limit"] < delivery_limits["time_limit"] <= settings.CELERY_TASK_SOFT_TIME_LIMIT
