"""Workspace uploads: files integrators POST to /api/uploads and then send by URL.

Storage only (no table): one directory per upload,

    MEDIA_ROOT/uploads/<workspaceId>/<token>/file        the bytes
    MEDIA_ROOT/uploads/<workspaceId>/<token>/meta.json   {"name", "mimeType", "size", "sha256", "createdAt"}

served at `<TUCO_PUBLIC_URL>/uploads/<workspaceId>/<token>/<name>`. The token (192 random
bits) makes the URL unguessable. The directory is assembled under `uploads/.tmp/` and
renamed into place, so a reader never sees a half-written upload. The rename is admitted by
the workspace's quota (`upload_quota`); uploads older than the retention are pruned on beat
(`upload_retention`).

The send path reads these files from disk (no HTTP) and refuses another workspace's URL
(`attachment_urls_check_ownership`, spec attachments.txt: 403).
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from django.conf import settings

from messaging.attachments.types import MAX_BYTES, SUPPORTED_TEXT, FileType, detect, name_for
from messaging.attachments.upload_quota import upload_quota_check, upload_quota_slot
from tuco.errors import BadRequest, Forbidden
from tuco.logging import get_logger
from tuco.models import Workspace

log = get_logger(__name__)

NOT_OWNED = "Attachment URL does not belong to this organization"
_WORKSPACE_RE = re.compile(r"^[0-9a-f]{24}$")
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32}$")
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class UploadRef:
    """The parts of an upload URL of this server (not yet checked against the store)."""

    workspace_id: str
    token: str
    filename: str


@dataclass
class StoredUpload:
    workspace_id: str
    token: str
    name: str
    mime_type: str
    size: int
    sha256: str
    path: Path

    @property
    def url(self) -> str:
        return f"{settings.TUCO_PUBLIC_URL}/uploads/{self.workspace_id}/{self.token}/{quote(self.name)}"


def uploads_root() -> Path:
    return Path(settings.MEDIA_ROOT) / "uploads"


def _origin(scheme: str, host: str | None, port: int | None) -> tuple[str, int | None, bool]:
    effective = port if port is not None else _DEFAULT_PORTS.get(scheme)
    return (host or "").lower().rstrip("."), effective, effective == _DEFAULT_PORTS.get(scheme)


def upload_ref_from_url(url: str) -> UploadRef | None:
    """The upload a URL names when it points at this server's upload store, else None.

    The host decides, not the scheme: `http://` and `https://` forms of the public host on
    their default ports are the same store (so a scheme swap cannot dodge the ownership check).
    A URL of ours with a malformed tail is still ours (an UploadRef that matches nothing).
    """
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


def _normalized_path(path: str) -> str:
    """The path as the request that fetches it will reach the store: percent-decoded, repeated slashes
    merged (as proxies do), `.` and `..` resolved (as HTTP clients do), so `/%75ploads/...`,
    `//uploads/...` and `/x/../uploads/...` are judged as `/uploads/...`."""
    merged = re.sub("/{2,}", "/", "/" + unquote(path))
    return posixpath.normpath(merged) + ("/" if merged.endswith("/") and merged != "/" else "")


def _directory(workspace_id: str, token: str) -> Path | None:
    if not (_WORKSPACE_RE.match(workspace_id) and _TOKEN_RE.match(token)):
        return None
    return uploads_root() / workspace_id / token


def upload_get(*, workspace_id: str, token: str, filename: str | None = None) -> StoredUpload | None:
    """The stored upload, or None when it does not exist (or `filename` is not its name)."""
    directory = _directory(workspace_id, token)
    if directory is None:
        return None
    try:
        meta = json.loads((directory / "meta.json").read_bytes())
        upload = StoredUpload(workspace_id=workspace_id, token=token, name=str(meta["name"]),
                              mime_type=str(meta["mimeType"]), size=int(meta["size"]),
                              sha256=str(meta["sha256"]), path=directory / "file")
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if filename is not None and filename != upload.name:
        return None
    return upload if upload.path.is_file() else None


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
    nothing is written on rejection."""
    kind = _validate(content)
    name = name_for(file_name, kind, fallback="upload")
    sha256 = hashlib.sha256(content).hexdigest()
    root = uploads_root()
    if not _WORKSPACE_RE.match(workspace_id):
        raise ValueError(f"invalid workspace id {workspace_id!r}")
    workspace_dir = root / workspace_id
    # Early refusal without the lock (no 25 MB staging write for a full workspace); the locked
    # check at the rename below is the one that counts.
    upload_quota_check(workspace_id=workspace_id, directory=workspace_dir, size=len(content))
    staging_root = root / ".tmp"
    staging_root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=staging_root))
    try:
        (staging / "file").write_bytes(content)
        meta = {"name": name, "mimeType": kind.mime, "size": len(content), "sha256": sha256,
                "createdAt": time.time(), "workspaceId": workspace_id}
        (staging / "meta.json").write_text(json.dumps(meta))
        token = secrets.token_urlsafe(24)
        target = _directory(workspace_id, token)
        if target is None:
            raise ValueError(f"invalid workspace id {workspace_id!r}")
        target.parent.mkdir(parents=True, exist_ok=True)
        with upload_quota_slot(workspace_id=workspace_id, directory=workspace_dir, size=len(content)):
            os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log.info("attachment.upload.created", workspaceId=workspace_id, mimeType=kind.mime, size=len(content))
    return StoredUpload(workspace_id=workspace_id, token=token, name=name, mime_type=kind.mime,
                        size=len(content), sha256=sha256, path=target / "file")
