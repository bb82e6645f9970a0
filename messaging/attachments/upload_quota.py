"""Per-workspace upload quota: `TUCO_UPLOAD_QUOTA_BYTES` and `TUCO_UPLOAD_QUOTA_FILES` (0 = no limit).

Usage is what the media storage holds under `uploads/<workspaceId>/` (the store has no table): one
listing, on disk or in the bucket. An upload is counted from the moment its `meta.json` is written, and
that write happens inside `upload_quota_slot`, which holds a PostgreSQL advisory lock of the workspace
while it re-reads the usage: concurrent uploads of one workspace (any web process, on any host: the lock
is in the database, the usage in the shared storage) are admitted one at a time, so the quota is never
overshot, not even by one file. The lock is transaction-scoped (`pg_advisory_xact_lock`), so it also holds
behind pgbouncer in transaction mode. Bytes written without their `meta.json` yet do not count until
admitted; a refused upload's bytes are removed.

Over the quota: 413 `UPLOAD_QUOTA_EXCEEDED` (the request is well-formed but the workspace's storage
is full; retrying later only helps once uploads expire, so not 429).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction

from tuco.errors import ApiError
from tuco.logging import get_logger
from tuco.storage import media_storage

log = get_logger(__name__)

QUOTA_CODE = "UPLOAD_QUOTA_EXCEEDED"


@dataclass(frozen=True)
class Usage:
    files: int
    bytes: int


def quota_files() -> int:
    return int(settings.TUCO_UPLOAD_QUOTA_FILES)


def quota_bytes() -> int:
    return int(settings.TUCO_UPLOAD_QUOTA_BYTES)


def workspace_usage(workspace_id: str) -> Usage:
    """Files and bytes of the finished uploads (those with their `meta.json`) of one workspace."""
    sizes: dict[str, int] = {}
    finished: set[str] = set()
    for stored in media_storage().walk(f"uploads/{workspace_id}"):
        parts = stored.name.split("/")
        if len(parts) != 4:
            continue
        token, part = parts[2], parts[3]
        if part == "file":
            sizes[token] = stored.size
        elif part == "meta.json":
            finished.add(token)
    counted = [sizes[token] for token in finished if token in sizes]
    return Usage(len(counted), sum(counted))


class UploadQuotaExceeded(ApiError):
    status = 413
    default_code = QUOTA_CODE


def upload_quota_check(*, workspace_id: str, size: int) -> None:
    """Raise UploadQuotaExceeded when one more file of `size` bytes would not fit."""
    max_files, max_bytes = quota_files(), quota_bytes()
    if not max_files and not max_bytes:
        return
    usage = workspace_usage(workspace_id)
    if (max_files and usage.files + 1 > max_files) or (max_bytes and usage.bytes + size > max_bytes):
        log.info("attachment.upload.quota_exceeded", workspaceId=workspace_id, files=usage.files,
                 bytes=usage.bytes, size=size, quotaFiles=max_files, quotaBytes=max_bytes)
        limits = " and ".join(part for part in (f"{max_files} files" if max_files else "",
                                                f"{max_bytes} bytes" if max_bytes else "") if part)
        raise UploadQuotaExceeded(
            f"Upload quota exceeded: a workspace keeps at most {limits} of uploads "
            f"(it has {usage.files} files, {usage.bytes} bytes; this file is {size} bytes)",
            quotaFiles=max_files or None, quotaBytes=max_bytes or None, usedFiles=usage.files,
            usedBytes=usage.bytes)


@contextmanager
def upload_quota_slot(*, workspace_id: str, size: int) -> Iterator[None]:
    """Check the quota and run the body (the write that makes the upload count) under the workspace's lock."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            # Transaction-scoped: released at commit or rollback, whatever happens to this process.
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"tuco.uploads:{workspace_id}"])
        upload_quota_check(workspace_id=workspace_id, size=size)
        yield
