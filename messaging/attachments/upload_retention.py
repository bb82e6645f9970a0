"""Upload retention: uploads older than `TUCO_UPLOAD_RETENTION_DAYS` (0 = keep forever) are deleted on
beat (`prune_uploads`, hourly) or by `manage.py prune_uploads`, except those a message still needs.

"Still needs": a message that is queued, pending, scheduled or sending, or whose fallback SMS is
pending or sending (the provider fetches the URL), names the upload in `attachment_urls`. Such an
upload is kept past its age and goes once those messages are done.

Deletion is two-phase, so a message created while the prune runs never loses its file: an expired,
unneeded upload is first moved to `uploads/.trash/<ws>/<token>` (atomic rename: from then on its URL
is 404 and a new send naming it is refused, 403), and a later run, at least `TRASH_GRACE_SECONDS`
after the move, looks for messages naming it once more: it restores the upload if one appeared (a send
that passed the ownership check just before the move) and deletes it otherwise.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Q

from messaging.attachments.uploads import upload_ref_from_url, uploads_root
from tuco.logging import get_logger

log = get_logger(__name__)

# Longer than any transaction of a send (the ownership check, then the commit of the message row).
TRASH_GRACE_SECONDS = 600
# A staging directory this old belongs to an upload whose process died.
STAGING_GRACE_SECONDS = 3600
OPEN_STATUSES = ("queued", "pending", "scheduled", "sending")
OPEN_FALLBACK_STATUSES = ("pending", "sending")


@dataclass
class UploadPruneResult:
    expired: int = 0  # moved to the trash in this run
    kept_in_use: int = 0  # expired, but a waiting message names them
    restored: int = 0  # taken back from the trash: a message named them after all
    deleted: int = 0
    freed_bytes: int = 0
    retention_days: float = 0
    errors: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"expired": self.expired, "keptInUse": self.kept_in_use, "restored": self.restored,
                "deleted": self.deleted, "freedBytes": self.freed_bytes, "retentionDays": self.retention_days,
                "errors": self.errors}


def _created_at(directory: Path) -> float | None:
    try:
        return float(json.loads((directory / "meta.json").read_bytes())["createdAt"])
    except (OSError, ValueError, KeyError, TypeError):
        try:  # no readable meta: the directory's own age
            return directory.stat().st_mtime
        except OSError:
            return None


def _uploads(root: Path) -> Iterator[tuple[str, str, Path]]:
    """(workspace id, token, directory) of every finished upload."""
    for workspace_dir in root.glob("*"):
        if workspace_dir.name.startswith(".") or not workspace_dir.is_dir():
            continue
        for directory in workspace_dir.glob("*"):
            if directory.is_dir():
                yield workspace_dir.name, directory.name, directory


def uploads_in_use(workspace_ids: Iterable[str]) -> set[tuple[str, str]]:
    """(workspace id, token) of every upload a message that still has to go out names."""
    from messaging.models import Message

    workspace_ids = list(set(workspace_ids))
    if not workspace_ids:
        return set()
    urls = (Message.objects.filter(workspace_id__in=workspace_ids)
            .filter(Q(status__in=OPEN_STATUSES) | Q(fallback_sms_status__in=OPEN_FALLBACK_STATUSES))
            .exclude(attachment_urls=[]).values_list("attachment_urls", flat=True))
    in_use = set()
    for names in urls.iterator(chunk_size=2000):
        for url in names or []:
            ref = upload_ref_from_url(url) if isinstance(url, str) else None
            if ref is not None:
                in_use.add((ref.workspace_id, ref.token))
    return in_use


def _size(directory: Path) -> int:
    try:
        return (directory / "file").stat().st_size
    except OSError:
        return 0


def _empty_trash(root: Path, now: float, result: UploadPruneResult) -> None:
    trash = root / ".trash"
    due = [(d.parent.name, d.name, d) for d in trash.glob("*/*")
           if d.is_dir() and now - d.stat().st_mtime >= TRASH_GRACE_SECONDS]
    in_use = uploads_in_use(ws for ws, _, _ in due)
    for workspace_id, token, directory in due:
        if (workspace_id, token) in in_use:
            target = root / workspace_id / token
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                os.rename(directory, target)
                result.restored += 1
                log.warning("attachment.upload.restored", workspaceId=workspace_id)
            except OSError as exc:
                result.errors.append(f"restore {token}: {exc}")
            continue
        size = _size(directory)
        try:
            shutil.rmtree(directory)
        except OSError as exc:
            result.errors.append(f"delete {token}: {exc}")
            continue
        result.deleted += 1
        result.freed_bytes += size
    for workspace_dir in trash.glob("*"):
        with contextlib.suppress(OSError):
            workspace_dir.rmdir()  # only when empty


def _expire(root: Path, now: float, limit: float, result: UploadPruneResult) -> None:
    expired = [(ws, token, d) for ws, token, d in _uploads(root)
               if (created := _created_at(d)) is not None and now - created > limit]
    in_use = uploads_in_use(ws for ws, _, _ in expired)
    for workspace_id, token, directory in expired:
        if (workspace_id, token) in in_use:
            result.kept_in_use += 1
            continue
        target = root / ".trash" / workspace_id / token
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.rename(directory, target)
            os.utime(target, (now, now))  # the trash clock starts at the move
        except OSError as exc:
            result.errors.append(f"expire {token}: {exc}")
            continue
        result.expired += 1


def _clean_staging(root: Path, now: float) -> None:
    for staging in (root / ".tmp").glob("*"):
        with contextlib.suppress(OSError):
            if now - staging.stat().st_mtime > STAGING_GRACE_SECONDS:
                shutil.rmtree(staging)


def uploads_prune(*, now: float | None = None, retention_days: float | None = None) -> UploadPruneResult:
    """One retention pass: empty the trash of earlier passes, then move newly expired uploads into it."""
    root = uploads_root()
    now = time.time() if now is None else now
    days = float(settings.TUCO_UPLOAD_RETENTION_DAYS) if retention_days is None else retention_days
    result = UploadPruneResult(retention_days=days)
    _empty_trash(root, now, result)
    if days > 0:
        _expire(root, now, days * 86400, result)
    _clean_staging(root, now)
    log.info("attachment.upload.pruned", **result.as_json())
    return result
