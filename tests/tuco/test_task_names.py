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
