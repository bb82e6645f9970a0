"""Per-workspace upload quota: `TUCO_UPLOAD_QUOTA_BYTES` and `TUCO_UPLOAD_QUOTA_FILES` (0 = no limit).

Usage is what is on disk under `uploads/<workspaceId>/` (the store has no table). An upload is
counted from the moment its directory is renamed into place, and that rename happens inside
`upload_quota_slot`, which holds a PostgreSQL advisory lock of the workspace while it re-reads the
usage: concurrent uploads of one workspace (any web process, any host sharing MEDIA_ROOT) are
admitted one at a time, so the quota is never overshot, not even by one file. Files being written
(`uploads/.tmp/`) do not count until admitted; a refused upload is removed with its staging dir.

Over the quota: 413 `UPLOAD_QUOTA_EXCEEDED` (the request is well-formed but the workspace's storage
is full; retrying later only helps once uploads expire, so not 429).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction

from tuco.errors import ApiError
from tuco.logging import get_logger

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


def workspace_usage(directory: Path) -> Usage:
    """Files and bytes of the finished uploads in one workspace's directory."""
    files = total = 0
    try:
        entries = os.scandir(directory)
    except FileNotFoundError:
        return Usage(0, 0)
    with entries:
        for entry in entries:
            try:
                size = os.stat(os.path.join(entry.path, "file")).st_size
            except OSError:  # not an upload (or removed by the retention prune meanwhile)
                continue
            files += 1
            total += size
    return Usage(files, total)


class UploadQuotaExceeded(ApiError):
    status = 413
    default_code = QUOTA_CODE


def upload_quota_check(*, workspace_id: str, directory: Path, size: int) -> None:
    """Raise UploadQuotaExceeded when one more file of `size` bytes would not fit."""
    max_files, max_bytes = quota_files(), quota_bytes()
    if not max_files and not max_bytes:
        return
    usage = workspace_usage(directory)
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
def upload_quota_slot(*, workspace_id: str, directory: Path, size: int) -> Iterator[None]:
    """Check the quota and run the body (the rename into place) under the workspace's upload lock."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            # Transaction-scoped: released at commit or rollback, whatever happens to this process.
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"tuco.uploads:{workspace_id}"])
        upload_quota_check(workspace_id=workspace_id, directory=directory, size=size)
        yield
