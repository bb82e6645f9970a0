"""Workspace uploads: files integrators POST to /api/uploads and then send by URL.

Storage only (no table), in the media storage (`tuco.storage`: MEDIA_ROOT, or an S3 bucket shared by every
host), two objects per upload:

    uploads/<workspaceId>/<token>/file        the bytes (written first)
    uploads/<workspaceId>/<token>/meta.json   {"name", "mimeType", "size", "sha256", "createdAt"}: written last,
                                              it makes the upload exist (readers, the quota and the URL)

served at `<TUCO_PUBLIC_URL>/uploads/<workspaceId>/<token>/<name>`. The token (192 random bits) makes the
URL unguessable. Each object is written whole (an atomic rename on disk, one PUT on S3), and `meta.json`
is written under the workspace's quota lock (`upload_quota`), so a reader never sees a half-written upload
and concurrent uploads never overshoot the quota. Uploads older than the retention are pruned on beat
(`upload_retention`).

The send path reads these objects through the storage (no HTTP, on any host) and refuses another
workspace's URL (`attachment_urls_check_ownership`, spec attachments.txt: 403). "Ours" is a URL of
`TUCO_PUBLIC_URL` under `/uploads/`, and, with S3, a URL straight into the bucket (presigned or not).
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from django.conf import settings

from messaging.attachments.types import MAX_BYTES, SUPPORTED_TEXT, FileType, detect, name_for
from messaging.attachments.upload_quota import upload_quota_check, upload_quota_slot
from tuco.errors import BadRequest, Forbidden
from tuco.logging import get_logger
from tuco.models import Workspace
from tuco.storage import media_storage

log = get_logger(__name__)

NOT_OWNED = "Attachment URL does not belong to this organization"
_WORKSPACE_RE = re.compile(r"^[0-9a-f]{24}$")
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32}$")
_DEFAULT_PORTS = {"http": 80, "https": 443}
UPLOADS = "uploads"
FILE, META = "file", "meta.json"


@dataclass(frozen=True)
class UploadRef:
    """The parts of an upload URL of this server (not yet checked against the store)."""

    workspace_id: str
    token: str
    filename: str | None  # None: a bucket URL, which names the object, not the upload's name


@dataclass
class StoredUpload:
    workspace_id: str
    token: str
    name: str
    mime_type: str
    size: int
    sha256: str

    @property
    def url(self) -> str:
        return f"{settings.TUCO_PUBLIC_URL}/uploads/{self.workspace_id}/{self.token}/{quote(self.name)}"

    @property
    def file_key(self) -> str:
        return upload_key(self.workspace_id, self.token, FILE)

    def read(self) -> bytes:
        """The bytes (FileNotFoundError once the retention removed them)."""
        return media_storage().read_bytes(self.file_key)


def upload_key(workspace_id: str, token: str, part: str) -> str:
    return f"{UPLOADS}/{workspace_id}/{token}/{part}"


def _origin(scheme: str, host: str | None, port: int | None) -> tuple[str, int | None, bool]:
    effective = port if port is not None else _DEFAULT_PORTS.get(scheme)
    return (host or "").lower().rstrip("."), effective, effective == _DEFAULT_PORTS.get(scheme)


def upload_ref_from_url(url: str) -> UploadRef | None:
    """The upload a URL names when it points at this server's upload store, else None.

    The host decides, not the scheme: `http://` and `https://` forms of the public host on
    their default ports are the same store (so a scheme swap cannot dodge the ownership check).
    A URL of ours with a malformed tail is still ours (an UploadRef that matches nothing).
    """
    in_bucket = media_storage().key_for_url(url)
    if in_bucket is not None:
        return _ref_from_key(in_bucket)
    base = urlsplit(settings.TUCO_PUBLIC_URL)
    try:
        parts = urlsplit((url or "").strip())
        base_origin, parts_origin = (_origin(base.scheme, base.hostname, base.port),
                                     _origin(parts.scheme, parts.hostname, parts.port))
    except ValueError:
        return None
    same_host = base_origin[0] == parts_origin[0] and bool(base_origin[0])
    same_port = base_origin[1] == parts_origin[1] or (base_origin[2] and parts_origin[2])
    prefix = _normalized_path(base.path).rstrip("/") + "/uploads/"
    path = _normalized_path(parts.path)
    if not (same_host and same_port and path.startswith(prefix)):
        return None
    segments = path[len(prefix):].split("/")
    if len(segments) != 3:
        return UploadRef(workspace_id="", token="", filename="")
    workspace_id, token, filename = segments
    return UploadRef(workspace_id=workspace_id, token=token, filename=filename)


def _ref_from_key(key: str) -> UploadRef:
    """A bucket URL is ours whatever it names; only `uploads/<ws>/<token>/file` can be an upload."""
    segments = key.split("/")
    if len(segments) == 4 and segments[0] == UPLOADS and segments[3] == FILE:
        return UploadRef(workspace_id=segments[1], token=segments[2], filename=None)
    return UploadRef(workspace_id="", token="", filename="")


def _normalized_path(path: str) -> str:
    """The path as the request that fetches it will reach the store: percent-decoded, repeated slashes
    merged (as proxies do), `.` and `..` resolved (as HTTP clients do), so `/%75ploads/...`,
    `//uploads/...` and `/x/../uploads/...` are judged as `/uploads/...`."""
    merged = re.sub("/{2,}", "/", "/" + unquote(path))
    return posixpath.normpath(merged) + ("/" if merged.endswith("/") and merged != "/" else "")


def _valid_ids(workspace_id: str, token: str) -> bool:
    return bool(_WORKSPACE_RE.match(workspace_id or "") and _TOKEN_RE.match(token or ""))


def upload_get(*, workspace_id: str, token: str, filename: str | None = None) -> StoredUpload | None:
    """The stored upload, or None when it does not exist (or `filename` is not its name).

    One read (`meta.json`): the bytes were stored before it and are removed only after it."""
    if not _valid_ids(workspace_id, token):
        return None
    try:
        meta = json.loads(media_storage().read_bytes(upload_key(workspace_id, token, META)))
        upload = StoredUpload(workspace_id=workspace_id, token=token, name=str(meta["name"]),
                              mime_type=str(meta["mimeType"]), size=int(meta["size"]),
                              sha256=str(meta["sha256"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("attachment.upload.unreadable", workspaceId=workspace_id, error=str(exc)[:200])
        return None
    if filename is not None and filename != upload.name:
        return None
    return upload


def upload_for_ref(ref: UploadRef) -> StoredUpload | None:
    return upload_get(workspace_id=ref.workspace_id, token=ref.token, filename=ref.filename)


def attachment_urls_check_ownership(*, workspace: Workspace, urls: Iterable[str]) -> None:
    """Refuse (403, the spec's text) a URL of this server's upload store that is not this workspace's.

    URLs of any other host pass: they are fetched (and checked for safety) by the worker.
    """
    workspace_id = str(workspace.pk)
    for url in urls:
        ref = upload_ref_from_url(url)
        if ref is None:
            continue
        upload = upload_for_ref(ref)
        if upload is None or upload.workspace_id != workspace_id:
            log.info("attachment.url_not_owned", workspaceId=workspace_id, uploadWorkspaceId=ref.workspace_id)
            raise Forbidden(NOT_OWNED)


def _validate(content: bytes) -> FileType:
    size = len(content)
    if size > MAX_BYTES:
        raise BadRequest(f"File too large: the limit is {MAX_BYTES // (1024 * 1024)} MB",
                         code="ATTACHMENT_TOO_LARGE")
    if size == 0:
        raise BadRequest("File is empty", code="ATTACHMENT_EMPTY")
    kind = detect(content)
    if kind is None:
        raise BadRequest(f"Unsupported file type. Supported: {SUPPORTED_TEXT}", code="ATTACHMENT_UNSUPPORTED_TYPE")
    return kind


def upload_create(*, workspace_id: str, file_name: str | None, content: bytes) -> StoredUpload:
    """Validate (size, real type from the bytes, the workspace's quota) and store one upload;
    nothing is left stored on rejection."""
    kind = _validate(content)
    name = name_for(file_name, kind, fallback="upload")
    sha256 = hashlib.sha256(content).hexdigest()
    if not _WORKSPACE_RE.match(workspace_id):
        raise ValueError(f"invalid workspace id {workspace_id!r}")
    # Early refusal without the lock (no 25 MB write for a full workspace); the locked check at the
    # commit below is the one that counts.
    upload_quota_check(workspace_id=workspace_id, size=len(content))
    storage = media_storage()
    token = secrets.token_urlsafe(24)
    meta = {"name": name, "mimeType": kind.mime, "size": len(content), "sha256": sha256,
            "createdAt": time.time(), "workspaceId": workspace_id}
    upload = StoredUpload(workspace_id=workspace_id, token=token, name=name, mime_type=kind.mime,
                          size=len(content), sha256=sha256)
    try:
        storage.write_bytes(upload.file_key, content)  # not an upload yet: no meta.json
        with upload_quota_slot(workspace_id=workspace_id, size=len(content)):
            storage.write_bytes(upload_key(workspace_id, token, META), json.dumps(meta).encode())
    except BaseException:
        storage.remove(upload_key(workspace_id, token, META))  # if the commit failed after it was written
        storage.remove(upload.file_key)
        raise
    log.info("attachment.upload.created", workspaceId=workspace_id, mimeType=kind.mime, size=len(content))
    return upload
