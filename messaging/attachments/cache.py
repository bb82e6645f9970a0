"""Per-line attachment cache on the local filesystem (spec: "Tuco caches it per line").

Layout under `MEDIA_ROOT/attachment-cache/`:

    blobs/<sha[:2]>/<sha256 of the content>     the bytes, content-addressed (shared by lines)
    lines/<line_id>/<sha256 of the URL>.json    the entry: which blob, its type, when fetched
    tmp/                                        files being written

Every file is written to `tmp/` and moved into place with `os.replace`, which is atomic on
one filesystem: a concurrent worker sees the old file, the new one, or none — never half of
one. A reader also checks the blob's size and sha256 against the entry, so a blob lost to a
concurrent prune or a crash is a miss, never wrong bytes. The cache is best effort: any
I/O error is logged and treated as a miss.

Limits (read at call time): `TUCO_ATTACHMENT_CACHE_MAX_BYTES` (2 GiB) total blob size and
`TUCO_ATTACHMENT_CACHE_MAX_AGE_SECONDS` (7 days) since the download. An expired entry is
a miss at once; `cache_prune()` (command `prune_attachment_cache`) deletes expired entries,
then the least recently used ones until the blobs fit the size limit.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

from tuco.logging import get_logger

log = get_logger(__name__)

DEFAULT_MAX_BYTES = 2 * 1024**3
DEFAULT_MAX_AGE_SECONDS = 7 * 24 * 3600
# An unreferenced blob this young may belong to an entry being written right now.
ORPHAN_GRACE_SECONDS = 3600
_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def cache_root() -> Path:
    return Path(settings.MEDIA_ROOT) / "attachment-cache"


def max_bytes() -> int:
    return int(getattr(settings, "TUCO_ATTACHMENT_CACHE_MAX_BYTES", DEFAULT_MAX_BYTES))


def max_age_seconds() -> float:
    return float(getattr(settings, "TUCO_ATTACHMENT_CACHE_MAX_AGE_SECONDS", DEFAULT_MAX_AGE_SECONDS))


def url_key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def _line_dir(root: Path, line_id: str) -> Path:
    safe = line_id if _SAFE_ID.match(line_id or "") else hashlib.sha256(line_id.encode()).hexdigest()[:32]
    return root / "lines" / safe


def _blob_path(root: Path, sha256: str) -> Path:
    return root / "blobs" / sha256[:2] / sha256


def _entry_path(root: Path, line_id: str, url: str) -> Path:
    return _line_dir(root, line_id) / f"{url_key(url)}.json"


def _atomic_write(root: Path, target: Path, data: bytes) -> None:
    tmp_dir = root / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise


@dataclass
class CachedAttachment:
    content: bytes
    sha256: str
    mime_type: str
    created_at: float
    source_name: str = ""  # the file name the download revealed (URL or final redirect URL)


def cache_get(*, line_id: str, url: str, now: float | None = None) -> CachedAttachment | None:
    root = cache_root()
    entry_path = _entry_path(root, line_id, url)
    now = time.time() if now is None else now
    try:
        meta = json.loads(entry_path.read_bytes())
        if meta.get("url") != url:
            return None
        created_at = float(meta["createdAt"])
        if now - created_at > max_age_seconds():
            return None
        sha256 = str(meta["sha256"])
        content = _blob_path(root, sha256).read_bytes()
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("attachment.cache.read_failed", lineId=line_id, error=str(exc))
        return None
    if len(content) != int(meta.get("size", -1)) or hashlib.sha256(content).hexdigest() != sha256:
        log.warning("attachment.cache.corrupt_blob", lineId=line_id, sha256=sha256)
        return None
    with contextlib.suppress(OSError):
        os.utime(entry_path)  # last use, for the least-recently-used order of pruning
    return CachedAttachment(content=content, sha256=sha256, mime_type=str(meta.get("mimeType") or ""),
                            created_at=created_at, source_name=str(meta.get("sourceName") or ""))


def cache_put(*, line_id: str, url: str, content: bytes, sha256: str, mime_type: str, source_name: str = "",
              now: float | None = None) -> bool:
    """Store one download for `line_id`; returns False (and logs) when the disk refused it."""
    root = cache_root()
    now = time.time() if now is None else now
    try:
        # Always rewritten (atomically, same bytes): a damaged blob of another line heals, and a
        # fresh mtime keeps it out of the orphan sweep while this entry is being written.
        _atomic_write(root, _blob_path(root, sha256), content)
        meta = {"url": url, "sha256": sha256, "size": len(content), "mimeType": mime_type,
                "sourceName": source_name, "createdAt": now}
        _atomic_write(root, _entry_path(root, line_id, url), json.dumps(meta).encode())
    except OSError as exc:
        log.warning("attachment.cache.write_failed", lineId=line_id, error=str(exc))
        return False
    return True


@dataclass
class PruneResult:
    expired_entries: int = 0
    evicted_entries: int = 0
    removed_blobs: int = 0
    freed_bytes: int = 0
    entries: int = 0
    bytes: int = 0
    max_bytes: int = 0
    max_age_seconds: float = 0
    errors: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"expiredEntries": self.expired_entries, "evictedEntries": self.evicted_entries,
                "removedBlobs": self.removed_blobs, "freedBytes": self.freed_bytes, "entries": self.entries,
                "bytes": self.bytes, "maxBytes": self.max_bytes, "maxAgeSeconds": self.max_age_seconds,
                "errors": self.errors}


def _unlink(path: Path, result: PruneResult) -> bool:
    try:
        path.unlink()
        return True
    except FileNotFoundError:
        return False
    except OSError as exc:
        result.errors.append(f"{path.name}: {exc}")
        return False


def cache_prune(*, now: float | None = None, limit_bytes: int | None = None,
                limit_age_seconds: float | None = None) -> PruneResult:
    """Delete expired entries, then least recently used ones until the blobs fit `limit_bytes`."""
    root = cache_root()
    now = time.time() if now is None else now
    limit_bytes = max_bytes() if limit_bytes is None else limit_bytes
    limit_age = max_age_seconds() if limit_age_seconds is None else limit_age_seconds
    result = PruneResult(max_bytes=limit_bytes, max_age_seconds=limit_age)

    for stale in (root / "tmp").glob(".part-*"):
        with contextlib.suppress(OSError):
            if now - stale.stat().st_mtime > ORPHAN_GRACE_SECONDS:
                stale.unlink()

    live: list[tuple[float, Path, str]] = []  # (last used, entry path, blob sha)
    released: set[str] = set()
    for entry in (root / "lines").glob("*/*.json"):
        try:
            meta = json.loads(entry.read_bytes())
            sha, created_at, last_used = str(meta["sha256"]), float(meta["createdAt"]), entry.stat().st_mtime
        except (OSError, ValueError, KeyError, TypeError):
            if _unlink(entry, result):
                result.expired_entries += 1
            continue
        if now - created_at > limit_age:
            if _unlink(entry, result):
                result.expired_entries += 1
            released.add(sha)
        else:
            live.append((last_used, entry, sha))

    refs: dict[str, int] = {}
    for _, _, sha in live:
        refs[sha] = refs.get(sha, 0) + 1
    sizes: dict[str, int] = {}
    for blob in (root / "blobs").glob("*/*"):
        try:
            stat = blob.stat()
        except OSError:
            continue
        sha = blob.name
        young_orphan = now - stat.st_mtime <= ORPHAN_GRACE_SECONDS and sha not in released
        if sha in refs or young_orphan:
            sizes[sha] = stat.st_size
        elif _unlink(blob, result):
            result.removed_blobs += 1
            result.freed_bytes += stat.st_size

    total = sum(sizes.values())
    live.sort(key=lambda item: item[0])
    kept = len(live)
    for _, entry, sha in live:
        if total <= limit_bytes:
            break
        if _unlink(entry, result):
            result.evicted_entries += 1
        kept -= 1
        refs[sha] -= 1
        if refs[sha] == 0 and sha in sizes:
            if _unlink(_blob_path(root, sha), result):
                result.removed_blobs += 1
                result.freed_bytes += sizes[sha]
            total -= sizes.pop(sha)

    for line_dir in (root / "lines").glob("*"):
        with contextlib.suppress(OSError):
            line_dir.rmdir()  # only succeeds when empty
    result.entries, result.bytes = kept, total
    log.info("attachment.cache.pruned", **result.as_json())
    return result
