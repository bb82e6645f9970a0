"""attachment_fetch: one attachment URL → bytes ready for the relay. Called by the worker, never a request.

Order: this server's upload store (read from the media storage, no HTTP) → the line's cache → download
(download.py: guarded, capped, timed) → real type from the bytes (types.py) → cache.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from lines.relay.base import RelayAttachment
from messaging.attachments import errors as e
from messaging.attachments.cache import cache_get, cache_put, url_key
from messaging.attachments.download import download, too_large
from messaging.attachments.errors import AttachmentError
from messaging.attachments.types import MAX_BYTES, SUPPORTED_TEXT, FileType, detect, name_for
from messaging.attachments.uploads import NOT_OWNED, upload_for_ref, upload_ref_from_url
from tuco.logging import get_logger
from tuco.storage import STORAGE_ERRORS

log = get_logger(__name__)


@dataclass
class FetchedAttachment:
    name: str  # with the extension of the real type (".caf" for voice notes)
    content: bytes
    mime_type: str
    size: int
    is_audio_message: bool
    cache_hit: bool
    sha256: str

    def to_relay(self) -> RelayAttachment:
        return RelayAttachment(name=self.name, content=self.content, mime_type=self.mime_type,
                               is_audio_message=self.is_audio_message)


def url_filename(url: str) -> str:
    try:
        path = urlsplit(url).path
    except ValueError:
        return ""
    return unquote(path.rsplit("/", 1)[-1])


def _kind_of(content: bytes) -> FileType:
    if not content:
        raise AttachmentError(e.ATTACHMENT_EMPTY, "Attachment is empty (0 bytes)", permanent=True)
    kind = detect(content)
    if kind is None:
        raise AttachmentError(e.ATTACHMENT_UNSUPPORTED_TYPE,
                              f"Unsupported attachment type. Supported: {SUPPORTED_TEXT}", permanent=True)
    return kind


def _result(*, content: bytes, kind: FileType, name: str, cache_hit: bool, sha256: str | None = None
            ) -> FetchedAttachment:
    return FetchedAttachment(name=name, content=content, mime_type=kind.mime, size=len(content),
                             is_audio_message=kind.is_audio_message, cache_hit=cache_hit,
                             sha256=sha256 or hashlib.sha256(content).hexdigest())


def _from_upload_store(url: str, name: str | None, workspace_id: str) -> FetchedAttachment | None:
    try:
        ref = upload_ref_from_url(url)
        if ref is None:
            return None
        upload = upload_for_ref(ref)
        if upload is None or upload.workspace_id != workspace_id:
            raise AttachmentError(e.ATTACHMENT_NOT_FOUND, NOT_OWNED, permanent=True)
        content = upload.read()
    except FileNotFoundError:
        raise AttachmentError(e.ATTACHMENT_NOT_FOUND, "Uploaded file no longer exists", permanent=True)
    except STORAGE_ERRORS as exc:  # the storage is unreachable or failing: worth another try later
        raise AttachmentError(e.ATTACHMENT_DOWNLOAD_FAILED, f"Upload store unavailable: {str(exc)[:200]}",
                              permanent=False)
    if len(content) > MAX_BYTES:
        raise too_large()
    kind = _kind_of(content)
    return _result(content=content, kind=kind, name=name_for(name or upload.name, kind), cache_hit=False)


def attachment_fetch(*, url: str, name: str | None, line_id: str, workspace_id: str) -> FetchedAttachment:
    """The attachment at `url`, named `name` (else the URL's file name), for a send from `line_id`.

    Raises AttachmentError; `.permanent` tells the caller whether a retry can help.
    """
    url = (url or "").strip()
    context = {"lineId": line_id, "workspaceId": workspace_id, "urlKey": url_key(url)[:16]}
    started = time.monotonic()
    try:
        stored = _from_upload_store(url, name, workspace_id)
        if stored is not None:
            log.info("attachment.fetch.upload_store", size=stored.size, mimeType=stored.mime_type, **context)
            return stored

        cached = cache_get(line_id=line_id, url=url)
        if cached is not None:
            kind = detect(cached.content)
            if kind is not None:
                log.info("attachment.fetch.cache_hit", size=len(cached.content), mimeType=kind.mime, **context)
                return _result(content=cached.content, kind=kind, cache_hit=True, sha256=cached.sha256,
                               name=name_for(name or cached.source_name or url_filename(url), kind))

        fetched = download(url)
        kind = _kind_of(fetched.content)
        sha256 = hashlib.sha256(fetched.content).hexdigest()
        source_name = url_filename(url) or url_filename(fetched.final_url)
        cache_put(line_id=line_id, url=url, content=fetched.content, sha256=sha256, mime_type=kind.mime,
                  source_name=source_name)
        result = _result(content=fetched.content, kind=kind, cache_hit=False, sha256=sha256,
                         name=name_for(name or source_name, kind))
    except AttachmentError as exc:
        log.warning("attachment.fetch.failed", code=exc.code, permanent=exc.permanent, reason=exc.message,
                    ms=round((time.monotonic() - started) * 1000), **context)
        raise
    log.info("attachment.fetch.downloaded", size=result.size, mimeType=result.mime_type, redirects=fetched.redirects,
             host=urlsplit(url).hostname, ms=round((time.monotonic() - started) * 1000), **context)
    return result
