"""Per-line attachment cache in the media storage (spec: "Tuco caches it per line").

The media storage is MEDIA_ROOT or an S3 bucket (`tuco.storage`); with a bucket every worker host shares
one cache. Layout under `attachment-cache/`:

    blobs/<sha[:2]>/<sha256 of the content>     the bytes, content-addressed (shared by lines)
    lines/<line_id>/<sha256 of the URL>.json    the entry: which blob, its type, when fetched, when last used

Every object is written whole (an atomic rename on disk, one PUT on S3): a concurrent worker sees the old
object, the new one or none, never half of one. A reader also checks the blob's size and sha256 against
the entry, so a blob lost to a concurrent prune or a crash is a miss, never wrong bytes. The cache is best
effort: any storage error is logged and treated as a miss.

Limits (read at call time): `TUCO_ATTACHMENT_CACHE_MAX_BYTES` (2 GiB) total blob size and
`TUCO_ATTACHMENT_CACHE_MAX_AGE_SECONDS` (7 days) since the download. An expired entry is a miss at once;
`cache_prune()` (command `prune_attachment_cache`) deletes expired entries, then the least recently used
ones until the blobs fit the size limit. "Last used" is in the entry (`lastUsedAt`), rewritten by a hit at
most every `TOUCH_SECONDS` (object stores have no cheap "touch").
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from tuco.logging import get_logger
from tuco.storage import STORAGE_ERRORS, media_storage

log = get_logger(__name__)

DEFAULT_MAX_BYTES = 2 * 1024**3
DEFAULT_MAX_AGE_SECONDS = 7 * 24 * 3600
# An unreferenced blob this young may belong to an entry being written right now.
ORPHAN_GRACE_SECONDS = 3600
# A hit records its time in the entry when the last record is older than this (one small write per hit at most).
TOUCH_SECONDS = 300
_SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
ROOT = "attachment-cache"


def max_bytes() -> int:
    return int(getattr(settings, "TUCO_ATTACHMENT_CACHE_MAX_BYTES", DEFAULT_MAX_BYTES))


def max_age_seconds() -> float:
    return float(getattr(settings, "TUCO_ATTACHMENT_CACHE_MAX_AGE_SECONDS", DEFAULT_MAX_AGE_SECONDS))


def url_key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def _line_dir(line_id: str) -> str:
    safe = line_id if _SAFE_ID.match(line_id or "") else hashlib.sha256(line_id.encode()).hexdigest()[:32]
    return f"{ROOT}/lines/{safe}"


def _blob_key(sha256: str) -> str:
    return f"{ROOT}/blobs/{sha256[:2]}/{sha256}"


def _entry_key(line_id: str, url: str) -> str:
    return f"{_line_dir(line_id)}/{url_key(url)}.json"


@dataclass
class CachedAttachment:
    content: bytes
    sha256: str
    mime_type: str
    created_at: float
    source_name: str = ""  # the file name the download revealed (URL or final redirect URL)


def cache_get(*, line_id: str, url: str, now: float | None = None) -> CachedAttachment | None:
    storage = media_storage()
    entry_key = _entry_key(line_id, url)
    now = time.time() if now is None else now
    try:
        meta = json.loads(storage.read_bytes(entry_key))
        if meta.get("url") != url:
            return None
        created_at = float(meta["createdAt"])
        if now - created_at > max_age_seconds():
            return None
        sha256 = str(meta["sha256"])
        content = storage.read_bytes(_blob_key(sha256))
    except FileNotFoundError:
        return None
    except (*STORAGE_ERRORS, ValueError, KeyError, TypeError) as exc:
        log.warning("attachment.cache.read_failed", lineId=line_id, error=str(exc)[:200])
        return None
    if len(content) != int(meta.get("size", -1)) or hashlib.sha256(content).hexdigest() != sha256:
        log.warning("attachment.cache.corrupt_blob", lineId=line_id, sha256=sha256)
        return None
    if now - float(meta.get("lastUsedAt") or created_at) > TOUCH_SECONDS:
        try:  # last use, for the least-recently-used order of pruning
            storage.write_bytes(entry_key, json.dumps({**meta, "lastUsedAt": now}).encode())
        except STORAGE_ERRORS as exc:
            log.warning("attachment.cache.touch_failed", lineId=line_id, error=str(exc)[:200])
    return CachedAttachment(content=content, sha256=sha256, mime_type=str(meta.get("mimeType") or ""),
                            created_at=created_at, source_name=str(meta.get("sourceName") or ""))


def cache_put(*, line_id: str, url: str, content: bytes, sha256: str, mime_type: str, source_name: str = "",
              now: float | None = None) -> bool:
    """Store one download for `line_id`; returns False (and logs) when the storage refused it."""
    storage = media_storage()
    now = time.time() if now is None else now
    try:
        # Always rewritten (whole, same bytes): a damaged blob of another line heals, and a fresh
        # modification time keeps it out of the orphan sweep while this entry is being written.
        storage.write_bytes(_blob_key(sha256), content)
        meta = {"url": url, "sha256": sha256, "size": len(content), "mimeType": mime_type,
                "sourceName": source_name, "createdAt": now, "lastUsedAt": now}
        storage.write_bytes(_entry_key(line_id, url), json.dumps(meta).encode())
    except STORAGE_ERRORS as exc:
        log.warning("attachment.cache.write_failed", lineId=line_id, error=str(exc)[:200])
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


def _remove(name: str, result: PruneResult) -> bool:
    try:
        media_storage().remove(name)
        return True
    except STORAGE_ERRORS as exc:
        result.errors.append(f"{name.rsplit('/', 1)[-1]}: {exc}")
        return False


def cache_prune(*, now: float | None = None, limit_bytes: int | None = None,
                limit_age_seconds: float | None = None) -> PruneResult:
    """Delete expired entries, then least recently used ones until the blobs fit `limit_bytes`."""
    storage = media_storage()
    now = time.time() if now is None else now
    limit_bytes = max_bytes() if limit_bytes is None else limit_bytes
    limit_age = max_age_seconds() if limit_age_seconds is None else limit_age_seconds
    result = PruneResult(max_bytes=limit_bytes, max_age_seconds=limit_age)

    live: list[tuple[float, str, str]] = []  # (last used, entry key, blob sha)
    released: set[str] = set()
    for stored in storage.walk(f"{ROOT}/lines"):
        if not stored.name.endswith(".json"):  # a write that died half-way (a temporary file on disk)
            if now - stored.modified > ORPHAN_GRACE_SECONDS:
                _remove(stored.name, result)
            continue
        try:
            meta = json.loads(storage.read_bytes(stored.name))
            sha, created_at = str(meta["sha256"]), float(meta["createdAt"])
            last_used = float(meta.get("lastUsedAt") or created_at)
        except FileNotFoundError:
            continue
        except (*STORAGE_ERRORS, ValueError, KeyError, TypeError):
            if _remove(stored.name, result):
                result.expired_entries += 1
            continue
        if now - created_at > limit_age:
            if _remove(stored.name, result):
                result.expired_entries += 1
            released.add(sha)
        else:
            live.append((last_used, stored.name, sha))

    refs: dict[str, int] = {}
    for _, _, sha in live:
        refs[sha] = refs.get(sha, 0) + 1
    sizes: dict[str, int] = {}
    for blob in storage.walk(f"{ROOT}/blobs"):
        sha = blob.name.rsplit("/", 1)[-1]
        young_orphan = now - blob.modified <= ORPHAN_GRACE_SECONDS and sha not in released
        if sha in refs or young_orphan:
            sizes[sha] = blob.size
        elif _remove(blob.name, result):
            result.removed_blobs += 1
            result.freed_bytes += blob.size

    total = sum(sizes.values())
    live.sort(key=lambda item: item[0])
    kept = len(live)
    for _, entry, sha in live:
        if total <= limit_bytes:
            break
        if _remove(entry, result):
            result.evicted_entries += 1
        kept -= 1
        refs[sha] -= 1
        if refs[sha] == 0 and sha in sizes:
            if _remove(_blob_key(sha), result):
                result.removed_blobs += 1
                result.freed_bytes += sizes[sha]
            total -= sizes.pop(sha)

    result.entries, result.bytes = kept, total
    log.info("attachment.cache.pruned", **result.as_json())
    return result
