"""Run by tests/deployment/test_pgbouncer.py in a subprocess whose DATABASE_URL is the pgbouncer of
tests/deployment/pgbouncer.py: each step is one kind of database use of the product (or a control that must
break there), and the outcome of every step is printed as one JSON object."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tuco.test_settings")
django.setup()

import responses  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection, connections  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from tests.attachments import samples  # noqa: E402
from tests.factories import DeviceFactory, LineFactory, MessageFactory, WorkspaceFactory  # noqa: E402
from tests.messaging.relay_mocks import RELAY, relay_accepts_everything  # noqa: E402

results: dict[str, dict[str, Any]] = {}


def step(name: str, action: Callable[[], Any]) -> None:
    try:
        results[name] = {"ok": True, "value": action()}
    except Exception as exc:
        results[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:400]}
    connections.close_all()


def scalar(sql: str, params: list[Any] | None = None) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        row = cursor.fetchone()
    return row[0] if row else None


# --- controls: session state really does not survive a transaction here ----------------------------------
def set_then_show() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = '4321ms'")
        cursor.execute("SHOW statement_timeout")
        return cursor.fetchone()[0]


def session_advisory_lock() -> int:
    scalar("SELECT pg_advisory_lock(4242)")
    return scalar("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 "
                  "AND pid = pg_backend_pid()")


def iterator_outside_a_transaction() -> int:
    from tuco.models import Workspace

    return sum(1 for _ in Workspace.objects.order_by("pk").iterator(chunk_size=1))


# --- the product's own database use ---------------------------------------------------------------------
def the_same_query_many_times() -> int:
    from tuco.models import Workspace

    workspace = Workspace.objects.order_by("pk").first()
    return sum(Workspace.objects.filter(pk=workspace.pk).exists() for _ in range(20))


def concurrent_uploads_under_the_quota_lock() -> list[str]:
    from messaging.attachments import upload_quota
    from messaging.attachments.upload_quota import UploadQuotaExceeded
    from messaging.attachments.uploads import upload_create

    settings.TUCO_UPLOAD_QUOTA_FILES, settings.TUCO_UPLOAD_QUOTA_BYTES = 3, 0
    real_usage = upload_quota.workspace_usage

    def slow_usage(workspace_id: str) -> Any:  # every upload reads the usage before any commits
        usage = real_usage(workspace_id)
        time.sleep(0.05)
        return usage

    upload_quota.workspace_usage = slow_usage
    workspace = WorkspaceFactory()
    barrier, outcomes = threading.Barrier(8), []

    def upload() -> None:
        try:
            barrier.wait()
            upload_create(workspace_id=workspace.pk, file_name="x.png", content=samples.png())
            outcomes.append("stored")
        except UploadQuotaExceeded:
            outcomes.append("refused")
        except Exception as exc:
            outcomes.append(repr(exc)[:200])
        finally:
            connection.close()

    threads = [threading.Thread(target=upload) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    upload_quota.workspace_usage = real_usage
    return sorted(outcomes)


def retention_prune() -> dict[str, Any]:
    from messaging.attachments.upload_retention import uploads_prune
    from messaging.attachments.uploads import upload_create

    settings.TUCO_UPLOAD_QUOTA_FILES = 0
    workspace = WorkspaceFactory()
    kept = upload_create(workspace_id=workspace.pk, file_name="kept.png", content=samples.png())
    upload_create(workspace_id=workspace.pk, file_name="gone.png", content=samples.png())
    for _ in range(3):  # more than one row for the cursor
        MessageFactory(workspace=workspace, status="queued", attachment_urls=[kept.url])
    report = uploads_prune(now=time.time() + 40 * 86400).as_json()  # the 3 of the quota step expire too
    return {"expired": report["expired"], "keptInUse": report["keptInUse"], "errors": report["errors"]}


def api_send_and_sweeps() -> dict[str, Any]:
    from messaging.models import Message
    from messaging.send import wake, worker
    from messaging.send.dispatcher import send_message
    from tuco.services import api_key_create

    published: list[str] = []
    wake.publish = lambda task, message_id, **_: published.append(message_id)
    settings.TUCO_RATE_LIMITS_ENABLED = False
    workspace = WorkspaceFactory()
    LineFactory(workspace=workspace, device=DeviceFactory(workspace=workspace, relay_url=RELAY,
                                                          relay_password="pw"))
    _, key = api_key_create(workspace=workspace)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    statuses = []
    for n in range(3):
        response = client.post("/api/messages", {"message": f"hi {n}", "recipientPhone": f"+120255500{n:02d}"},
                               format="json", HTTP_IDEMPOTENCY_KEY=f"probe-{n}")
        statuses.append(response.status_code)
    replay = client.post("/api/messages", {"message": "hi 0", "recipientPhone": "+12025550000"}, format="json",
                         HTTP_IDEMPOTENCY_KEY="probe-0").status_code
    later = timezone.now() + timedelta(seconds=61)
    swept = worker.sweep_due_messages(now=later)
    worker.sweep_stuck_sending()
    worker.sweep_fallbacks()
    responses.start()
    try:
        relay_accepts_everything()
        outcomes = [send_message(message_id) for message_id in sorted(set(published))]
    finally:
        responses.stop()
        responses.reset()
    return {"statuses": statuses, "replay": replay, "swept": swept, "outcomes": outcomes,
            "sent": Message.objects.filter(workspace=workspace, status="sent").count()}


def beat_scheduler() -> int:
    from django_celery_beat.models import PeriodicTask
    from django_celery_beat.schedulers import DatabaseScheduler

    from tuco.celery import app
    from tuco.schedule import beat_schedule

    app.conf.beat_schedule = beat_schedule()
    DatabaseScheduler(app=app, lazy=False)
    return PeriodicTask.objects.count()


def main() -> None:
    settings.MEDIA_ROOT = tempfile.mkdtemp(prefix="probe-media-")
    WorkspaceFactory.create_batch(3)
    step("control_set", set_then_show)
    step("control_session_advisory_lock", session_advisory_lock)
    step("control_iterator_outside_transaction", iterator_outside_a_transaction)
    step("same_query_many_times", the_same_query_many_times)
    step("uploads_quota_lock", concurrent_uploads_under_the_quota_lock)
    step("uploads_retention", retention_prune)
    step("api_send_and_sweeps", api_send_and_sweeps)
    step("beat_scheduler", beat_scheduler)
    sys.stdout.write(json.dumps(results) + "\n")


if __name__ == "__main__":
    main()
