"""Upload retention: uploads older than `TUCO_UPLOAD_RETENTION_DAYS` (0 = keep forever) are deleted on
beat (`prune_uploads`, hourly) or by `manage.py prune_uploads`, except those a message still needs.

"Still needs": a message that is queued, pending, scheduled or sending, or whose fallback SMS is
pending or sending (the provider fetches the URL), names the upload in `attachment_urls`. Such an
upload is kept past its age and goes once those messages are done.

Deletion is two-phase, so a message created while the prune runs never loses its file: an expired,
unneeded upload is first put in the trash (a marker `uploads/.trash/<ws>/<token>.json` holding its
`meta.json` and the time, then its `meta.json` removed: from then on its URL is 404 and a new send naming
it is refused, 403), and a later run, at least `TRASH_GRACE_SECONDS` after, looks for messages naming it
once more: it restores the upload if one appeared (a send that passed the ownership check just before the
trash) and deletes its bytes otherwise. No object is copied or renamed, so the same steps work on disk
and in an S3 bucket (`tuco.storage`); one listing of `uploads/` per run finds everything.

Ages: the listing's modification time says which uploads may be expired; their `meta.json` (`createdAt`)
decides. Anything else under `uploads/` older than `STAGING_GRACE_SECONDS` (bytes whose upload never got
its `meta.json`, a process that died mid-upload, leftovers of the older directory layout) is removed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from messaging.attachments.uploads import FILE, META, UPLOADS, upload_key, upload_ref_from_url
from tuco.logging import get_logger
from tuco.storage import StoredObject, media_storage

log = get_logger(__name__)

# Longer than any transaction of a send (the ownership check, then the commit of the message row).
TRASH_GRACE_SECONDS = 600
# Bytes this old without their meta.json belong to an upload whose process died.
STAGING_GRACE_SECONDS = 3600
OPEN_STATUSES = ("queued", "pending", "scheduled", "sending")
OPEN_FALLBACK_STATUSES = ("pending", "sending")
TRASH = ".trash"


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


@dataclass
class _Listing:
    """One listing of `uploads/`, sorted into what the prune needs."""

    live: dict[tuple[str, str], StoredObject] = field(default_factory=dict)  # (ws, token) -> its meta.json
    files: dict[tuple[str, str], StoredObject] = field(default_factory=dict)  # (ws, token) -> its bytes
    trashed: dict[tuple[str, str], StoredObject] = field(default_factory=dict)  # (ws, token) -> trash marker
    other: list[StoredObject] = field(default_factory=list)


def _list_store() -> _Listing:
    listing = _Listing()
    for stored in media_storage().walk(UPLOADS):
        parts = stored.name.split("/")[1:]
        if len(parts) == 3 and parts[0] == TRASH and parts[2].endswith(".json"):
            listing.trashed[(parts[1], parts[2].removesuffix(".json"))] = stored
        elif len(parts) == 3 and not parts[0].startswith(".") and parts[2] in (META, FILE):
            (listing.live if parts[2] == META else listing.files)[(parts[0], parts[1])] = stored
        else:
            listing.other.append(stored)
    return listing


def _trash_key(workspace_id: str, token: str) -> str:
    return f"{UPLOADS}/{TRASH}/{workspace_id}/{token}.json"


def _read_json(key: str) -> dict[str, Any] | None:
    try:
        data = json.loads(media_storage().read_bytes(key))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("attachment.upload.unreadable", key=key, error=str(exc)[:200])
        return {}
    return data if isinstance(data, dict) else {}


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
    # In a transaction: the server-side cursor of .iterator() then lives as long as the transaction, which
    # pgbouncer in transaction mode keeps on one server connection (outside one it would be WITH HOLD).
    with transaction.atomic():
        for names in urls.iterator(chunk_size=2000):
            for url in names or []:
                ref = upload_ref_from_url(url) if isinstance(url, str) else None
                if ref is not None:
                    in_use.add((ref.workspace_id, ref.token))
    return in_use


def _empty_trash(listing: _Listing, now: float, result: UploadPruneResult) -> None:
    storage = media_storage()
    due: dict[tuple[str, str], dict[str, Any]] = {}
    for ref in listing.trashed:
        if ref in listing.live:  # a restore (or a trash) stopped half-way: the upload is live
            storage.remove(_trash_key(*ref))
            continue
        marker = _read_json(_trash_key(*ref))
        if marker is None:
            continue
        if now - float(marker.get("trashedAt") or 0) >= TRASH_GRACE_SECONDS:
            due[ref] = marker
    in_use = uploads_in_use(ws for ws, _ in due)
    for (workspace_id, token), marker in due.items():
        meta = marker.get("meta")
        try:
            if (workspace_id, token) in in_use and isinstance(meta, dict) and (workspace_id, token) in listing.files:
                storage.write_bytes(upload_key(workspace_id, token, META), json.dumps(meta).encode())
                storage.remove(_trash_key(workspace_id, token))
                result.restored += 1
                log.warning("attachment.upload.restored", workspaceId=workspace_id)
                continue
            stored = listing.files.get((workspace_id, token))
            storage.remove(upload_key(workspace_id, token, FILE))
            storage.remove(_trash_key(workspace_id, token))
        except OSError as exc:
            result.errors.append(f"trash {token}: {exc}")
            continue
        result.deleted += 1
        result.freed_bytes += stored.size if stored else 0


def _expire(listing: _Listing, now: float, limit: float, result: UploadPruneResult) -> None:
    storage = media_storage()
    expired: dict[tuple[str, str], dict[str, Any]] = {}
    for ref, meta_object in listing.live.items():
        if ref in listing.trashed or now - meta_object.modified <= limit:
            continue  # written within the retention: created within it
        meta = _read_json(upload_key(*ref, META))
        if meta is None:
            continue
        created = float(meta.get("createdAt") or meta_object.modified)
        if now - created > limit:
            expired[ref] = meta
    in_use = uploads_in_use(ws for ws, _ in expired)
    for (workspace_id, token), meta in expired.items():
        if (workspace_id, token) in in_use:
            result.kept_in_use += 1
            continue
        try:
            marker = {"trashedAt": now, "meta": meta}
            storage.write_bytes(_trash_key(workspace_id, token), json.dumps(marker).encode())
            storage.remove(upload_key(workspace_id, token, META))  # from here on: 404, and 403 to a send
        except OSError as exc:
            result.errors.append(f"expire {token}: {exc}")
            continue
        listing.trashed[(workspace_id, token)] = listing.live[(workspace_id, token)]
        result.expired += 1


def _clean_leftovers(listing: _Listing, now: float) -> None:
    """Bytes without a meta.json or a trash marker, and anything unknown, once older than the grace."""
    storage = media_storage()
    orphans = [stored for ref, stored in listing.files.items()
               if ref not in listing.live and ref not in listing.trashed]
    for stored in orphans + listing.other:
        if now - stored.modified > STAGING_GRACE_SECONDS:
            try:
                storage.remove(stored.name)
            except OSError as exc:
                log.warning("attachment.upload.leftover_not_removed", key=stored.name, error=str(exc)[:200])


def uploads_prune(*, now: float | None = None, retention_days: float | None = None) -> UploadPruneResult:
    """One retention pass: empty the trash of earlier passes, then trash newly expired uploads."""
    now = time.time() if now is None else now
    days = float(settings.TUCO_UPLOAD_RETENTION_DAYS) if retention_days is None else retention_days
    result = UploadPruneResult(retention_days=days)
    listing = _list_store()
    _empty_trash(listing, now, result)
    if days > 0:
        _expire(listing, now, days * 86400, result)
    _clean_leftovers(listing, now)
    log.info("attachment.upload.pruned", **result.as_json())
    return result
