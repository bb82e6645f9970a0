"""Uploads: per-workspace quota (413 UPLOAD_QUOTA_EXCEEDED, nothing written, never overshot under
concurrency), retention (never deleting an upload a waiting message names), and the beat schedule
that prunes uploads and the attachment cache."""

from __future__ import annotations

import io
import json
import threading
import time
from typing import Any

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection

from messaging.attachments.cache import cache_get, cache_put
from messaging.attachments.upload_quota import UploadQuotaExceeded
from messaging.attachments.upload_retention import TRASH_GRACE_SECONDS
from messaging.attachments.uploads import upload_create, upload_get
from tests.attachments import samples
from tests.attachments.helpers import cache_entries, leftovers, upload_dirs
from tests.factories import MessageFactory, WorkspaceFactory
from tests.storage.media import Media

PUBLIC = "https://tuco.example"
DAY = 86400
pytestmark = pytest.mark.urls("tests.attachments.urls")


@pytest.fixture(autouse=True)
def public_url(settings: Any) -> None:
    settings.TUCO_PUBLIC_URL = PUBLIC


def post_file(api: Any, content: bytes, name: str = "logo.png") -> Any:
    return api.post("/api/uploads", {"file": SimpleUploadedFile(name, content, content_type="image/png")},
                    format="multipart")


# --- quota -----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_file_quota_answers_413_and_writes_nothing(api: Any, settings: Any, media: Media) -> None:
    settings.TUCO_UPLOAD_QUOTA_FILES, settings.TUCO_UPLOAD_QUOTA_BYTES = 2, 0
    assert [post_file(api, samples.png()).status_code for _ in range(2)] == [201, 201]
    response = post_file(api, samples.png())
    assert response.status_code == 413
    body = response.json()
    assert body["code"] == "UPLOAD_QUOTA_EXCEEDED" and body["error"].startswith("Upload quota exceeded")
    assert (body["quotaFiles"], body["usedFiles"]) == (2, 2)
    assert len(upload_dirs(media)) == 2 and leftovers(media) == []


@pytest.mark.django_db
def test_byte_quota_counts_this_file_and_is_per_workspace(api: Any, settings: Any, media: Media) -> None:
    png = samples.png()
    settings.TUCO_UPLOAD_QUOTA_FILES, settings.TUCO_UPLOAD_QUOTA_BYTES = 0, 2 * len(png) + 10
    assert post_file(api, png).status_code == 201
    assert post_file(api, png).status_code == 201
    refused = post_file(api, png)
    assert (refused.status_code, refused.json()["usedBytes"]) == (413, 2 * len(png))
    assert len(upload_dirs(media)) == 2 and leftovers(media) == []
    # Another workspace has a quota of its own.
    other = WorkspaceFactory()
    assert upload_create(workspace_id=other.pk, file_name="x.png", content=png).size == len(png)


@pytest.mark.django_db
def test_refused_in_the_locked_check_removes_its_staging(settings: Any, media: Media,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The unlocked early check passes, the locked one refuses (another upload got in between)."""
    from messaging.attachments import uploads

    settings.TUCO_UPLOAD_QUOTA_FILES = 1
    workspace = WorkspaceFactory()
    monkeypatch.setattr(uploads, "upload_quota_check", lambda **_: None)
    upload_create(workspace_id=workspace.pk, file_name="a.png", content=samples.png())
    with pytest.raises(UploadQuotaExceeded):
        upload_create(workspace_id=workspace.pk, file_name="b.png", content=samples.png())
    assert len(upload_dirs(media)) == 1 and leftovers(media) == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_uploads_never_overshoot_the_quota(settings: Any, media: Media,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from messaging.attachments import upload_quota

    settings.TUCO_UPLOAD_QUOTA_FILES, settings.TUCO_UPLOAD_QUOTA_BYTES = 3, 0
    real_usage = upload_quota.workspace_usage

    def slow_usage(workspace_id: str) -> Any:  # a slow store: every upload reads the usage before any commits
        usage = real_usage(workspace_id)
        time.sleep(0.05)
        return usage

    monkeypatch.setattr(upload_quota, "workspace_usage", slow_usage)
    workspace = WorkspaceFactory()
    workers = 10
    barrier = threading.Barrier(workers)
    outcomes: list[str] = []
    lock = threading.Lock()

    def upload() -> None:
        try:
            barrier.wait()
            upload_create(workspace_id=workspace.pk, file_name="x.png", content=samples.png())
            outcome = "stored"
        except UploadQuotaExceeded:
            outcome = "refused"
        except BaseException as exc:
            outcome = repr(exc)
        finally:
            connection.close()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=upload) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["refused"] * 7 + ["stored"] * 3
    assert len(upload_dirs(media)) == 3 and leftovers(media) == []


# --- retention ---------------------------------------------------------------------------------------------


def _prune(now: float, *extra: str) -> dict[str, Any]:
    out = io.StringIO()
    with time_machine.travel(now, tick=False):
        call_command("prune_uploads", "--json", *extra, stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_retention_keeps_what_waiting_messages_name_and_deletes_the_rest(settings: Any, media: Media) -> None:
    settings.TUCO_UPLOAD_RETENTION_DAYS = 30
    workspace = WorkspaceFactory()
    make = lambda name: upload_create(workspace_id=workspace.pk, file_name=name, content=samples.png())  # noqa: E731
    queued, sending, fallback, sent, unused = (make(f"{n}.png") for n in
                                              ("queued", "sending", "fallback", "sent", "unused"))
    MessageFactory(workspace=workspace, status="queued", attachment_urls=[queued.url])
    MessageFactory(workspace=workspace, status="sending", attachment_urls=["https://cdn.example/a.png", sending.url])
    MessageFactory(workspace=workspace, status="failed", fallback_sms_status="pending", attachment_urls=[fallback.url])
    MessageFactory(workspace=workspace, status="delivered", attachment_urls=[sent.url])
    later = time.time() + 31 * DAY
    with time_machine.travel(later - DAY, tick=False):
        young = make("young.png")
    report = _prune(later)
    assert (report["expired"], report["keptInUse"], report["deleted"]) == (2, 3, 0)
    gone = [upload_get(workspace_id=workspace.pk, token=u.token) for u in (sent, unused)]
    assert gone == [None, None]  # out of the store at once: 404, and a new send naming them is 403
    for kept in (queued, sending, fallback, young):
        assert upload_get(workspace_id=workspace.pk, token=kept.token) is not None

    assert _prune(later + TRASH_GRACE_SECONDS - 1)["deleted"] == 0  # the trash waits out its grace
    report = _prune(later + TRASH_GRACE_SECONDS + 1)
    assert (report["deleted"], report["freedBytes"]) == (2, 2 * len(samples.png()))
    assert media.names("uploads/.trash") == []
    assert len(upload_dirs(media)) == 4


@pytest.mark.django_db
def test_a_send_that_raced_the_expiry_gets_its_upload_back(settings: Any, media: Media) -> None:
    workspace = WorkspaceFactory()
    upload = upload_create(workspace_id=workspace.pk, file_name="promo.png", content=samples.png())
    later = time.time() + 31 * DAY
    assert _prune(later)["expired"] == 1
    # A send that passed the ownership check just before the move commits just after it:
    MessageFactory(workspace=workspace, status="pending", attachment_urls=[upload.url])
    report = _prune(later + TRASH_GRACE_SECONDS + 1)
    assert (report["restored"], report["deleted"]) == (1, 0)
    restored = upload_get(workspace_id=workspace.pk, token=upload.token, filename="promo.png")
    assert restored is not None and restored.read() == samples.png()


@pytest.mark.django_db
def test_retention_zero_keeps_uploads_forever(settings: Any, media: Media) -> None:
    settings.TUCO_UPLOAD_RETENTION_DAYS = 0
    workspace = WorkspaceFactory()
    upload_create(workspace_id=workspace.pk, file_name="a.png", content=samples.png())
    assert _prune(time.time() + 3650 * DAY)["expired"] == 0
    assert len(upload_dirs(media)) == 1


@pytest.mark.django_db
def test_expired_uploads_free_quota(settings: Any, media: Media) -> None:
    settings.TUCO_UPLOAD_QUOTA_FILES = 1
    workspace = WorkspaceFactory()
    upload_create(workspace_id=workspace.pk, file_name="a.png", content=samples.png())
    with pytest.raises(UploadQuotaExceeded):
        upload_create(workspace_id=workspace.pk, file_name="b.png", content=samples.png())
    _prune(time.time() + 31 * DAY)  # in the trash: no longer counted
    assert upload_create(workspace_id=workspace.pk, file_name="b.png", content=samples.png()).name == "b.png"


# --- beat ------------------------------------------------------------------------------------------------


def test_beat_schedules_both_prunes(settings: Any) -> None:
    from tuco.celery import app
    from tuco.schedule import beat_schedule

    settings.TUCO_DISK_PRUNE_INTERVAL_SECONDS = 1800
    schedule = beat_schedule()
    entries = {name: schedule[name] for name in ("tuco.prune-attachment-cache", "tuco.prune-uploads")}
    assert {e["task"] for e in entries.values()} == {"messaging.attachments.tasks.prune_attachment_cache",
                                                     "messaging.attachments.tasks.prune_uploads"}
    assert {e["schedule"].total_seconds() for e in entries.values()} == {1800}
    app.loader.import_default_modules()  # what a worker does at start: the names resolve to tasks
    assert all(e["task"] in app.tasks for e in entries.values())


@pytest.mark.django_db(transaction=True)  # the scheduler closes connections it finds inside a transaction
def test_database_scheduler_installs_the_prune_entries() -> None:
    from django_celery_beat.models import PeriodicTask
    from django_celery_beat.schedulers import DatabaseScheduler

    from tuco.celery import app
    from tuco.schedule import beat_schedule

    app.conf.beat_schedule = beat_schedule()
    DatabaseScheduler(app=app, lazy=False)
    tasks = dict(PeriodicTask.objects.filter(name__startswith="tuco.prune-").values_list("name", "task"))
    assert tasks == {"tuco.prune-attachment-cache": "messaging.attachments.tasks.prune_attachment_cache",
                     "tuco.prune-uploads": "messaging.attachments.tasks.prune_uploads"}


@pytest.mark.django_db
def test_the_beat_tasks_prune(settings: Any, media: Media) -> None:
    from messaging.attachments.tasks import prune_attachment_cache, prune_uploads

    settings.TUCO_ATTACHMENT_CACHE_MAX_AGE_SECONDS = 7 * DAY
    cache_put(line_id="a" * 24, url="https://cdn.example/old.png", content=b"old", sha256="0" * 64,
              mime_type="image/png", now=time.time() - 8 * DAY)
    assert len(cache_entries(media)) == 1
    assert prune_attachment_cache.apply().get()["expiredEntries"] == 1
    assert cache_entries(media) == [] and cache_get(line_id="a" * 24, url="https://cdn.example/old.png") is None

    settings.TUCO_UPLOAD_RETENTION_DAYS = 0.0001  # about 9 s
    workspace = WorkspaceFactory()
    upload_create(workspace_id=workspace.pk, file_name="a.png", content=samples.png())
    with time_machine.travel(time.time() + 60, tick=False):
        assert prune_uploads.apply().get()["expired"] == 1
    assert upload_dirs(media) == []
