"""Where uploads and the per-line attachment cache live: one Django storage, alias `tuco_media`.

- `TUCO_STORAGE=filesystem` (the default, the embedded setup): `MEDIA_ROOT` (`TUCO_MEDIA_ROOT`), shared by
  web and worker on one host.
- `TUCO_STORAGE=s3`: a bucket of any S3-compatible service (AWS S3, MinIO, R2, …) through django-storages,
  so web and worker processes on any number of hosts, each with its own local disk, see the same objects
  (README "Object storage", docs/deployment.md).

The attachments code asks only for what both backends do the same way: write a whole object (readers see
the old bytes, the new ones or none, never half: an atomic rename on disk, a single PUT on S3), read a
whole object, stream one, delete one, and list every object under a prefix with its size and age (one
recursive listing: S3 has no directories). Names are `/`-separated keys relative to the storage's root
(`MEDIA_ROOT`, or the bucket's `TUCO_S3_PREFIX`).
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import unquote, urlsplit

from botocore.exceptions import BotoCoreError, ClientError
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, storages
from storages.backends.s3 import S3Storage

MEDIA_ALIAS = "tuco_media"
# What a storage call may raise besides FileNotFoundError: disk errors, S3 connection and service errors.
STORAGE_ERRORS: tuple[type[Exception], ...] = (OSError, BotoCoreError, ClientError)


@dataclass(frozen=True)
class StoredObject:
    name: str  # relative to the storage's root, `/`-separated
    size: int
    modified: float  # epoch seconds of the last write


def media_storage() -> MediaStorage:
    """The configured storage (one instance per process; Django rebuilds it when STORAGES changes)."""
    return storages[MEDIA_ALIAS]


class MediaStorage:
    """What the attachments code uses; both backends below implement it."""

    def read_bytes(self, name: str) -> bytes:  # FileNotFoundError when absent
        raise NotImplementedError

    def write_bytes(self, name: str, data: bytes) -> None:
        raise NotImplementedError

    def open_stream(self, name: str) -> IO[bytes]:  # FileNotFoundError when absent
        raise NotImplementedError

    def remove(self, name: str) -> None:  # absent is fine
        raise NotImplementedError

    def walk(self, prefix: str) -> Iterator[StoredObject]:
        """Every object under `prefix/`, at any depth."""
        raise NotImplementedError

    def key_for_url(self, url: str) -> str | None:
        """The object name when `url` points straight into this storage (a bucket URL, presigned or not)."""
        return None


class AtomicFileSystemStorage(MediaStorage, FileSystemStorage):
    """MEDIA_ROOT on local disk; every write goes to a temporary file beside its target and is renamed over it."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allow_overwrite", True)
        super().__init__(**kwargs)

    def _save(self, name: str, content: Any) -> str:
        full_path = self.path(name)
        directory = os.path.dirname(full_path)
        os.makedirs(directory, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as handle:
                for chunk in content.chunks():
                    handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp_name, full_path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
            raise
        return name.replace("\\", "/")

    def read_bytes(self, name: str) -> bytes:
        with open(self.path(name), "rb") as handle:
            return handle.read()

    def write_bytes(self, name: str, data: bytes) -> None:
        self._save(name, ContentFile(data))

    def open_stream(self, name: str) -> IO[bytes]:
        return open(self.path(name), "rb")  # the caller (a FileResponse) closes it

    def remove(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path(name))
        # Leave no empty directories behind (an upload's folder, a line's cache folder).
        directory = os.path.dirname(self.path(name))
        root = os.path.realpath(self.location)
        while os.path.realpath(directory) != root:
            try:
                os.rmdir(directory)
            except OSError:
                break
            directory = os.path.dirname(directory)

    def walk(self, prefix: str) -> Iterator[StoredObject]:
        base = self.path(prefix)
        root = self.location
        for directory, _, files in os.walk(base):
            for file_name in files:
                full = os.path.join(directory, file_name)
                try:
                    stat = os.stat(full)
                except OSError:  # removed meanwhile
                    continue
                yield StoredObject(name=os.path.relpath(full, root).replace(os.sep, "/"), size=stat.st_size,
                                   modified=stat.st_mtime)


class S3MediaStorage(MediaStorage, S3Storage):
    """A bucket of an S3-compatible service, objects under `location` (TUCO_S3_PREFIX). Private: nothing is
    served from the bucket directly (uploads go through /uploads/…, which checks the URL)."""

    def _key(self, name: str) -> str:
        return self._normalize_name(name)

    def _client(self) -> Any:
        return self.connection.meta.client

    def read_bytes(self, name: str) -> bytes:
        return self.open_stream(name).read()

    def write_bytes(self, name: str, data: bytes) -> None:
        self._client().put_object(Bucket=self.bucket_name, Key=self._key(name), Body=data,
                                  ContentType="application/octet-stream")

    def open_stream(self, name: str) -> IO[bytes]:
        client = self._client()
        try:
            return client.get_object(Bucket=self.bucket_name, Key=self._key(name))["Body"]
        except client.exceptions.NoSuchKey:
            raise FileNotFoundError(name)

    def remove(self, name: str) -> None:
        self._client().delete_object(Bucket=self.bucket_name, Key=self._key(name))

    def walk(self, prefix: str) -> Iterator[StoredObject]:
        key_prefix = self._key(prefix).rstrip("/") + "/"
        root = self.location.strip("/")
        pages = self._client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket_name,
                                                                           Prefix=key_prefix)
        for page in pages:
            for entry in page.get("Contents", ()):
                key = entry["Key"]
                name = key[len(root) + 1:] if root else key
                yield StoredObject(name=name, size=int(entry["Size"]), modified=entry["LastModified"].timestamp())

    def key_for_url(self, url: str) -> str | None:
        """The name under our prefix for a URL of this bucket: path style (`<endpoint>/<bucket>/<key>`) or
        virtual-hosted (`<bucket>.<endpoint host>/<key>`), on the configured endpoint or AWS's, with or
        without a signature. A URL of the bucket outside our prefix names nothing of ours: "" (never None,
        so the caller still treats the URL as this storage's and refuses it)."""
        try:
            parts = urlsplit((url or "").strip())
            host = (parts.hostname or "").lower().rstrip(".")
            port = parts.port
        except ValueError:
            return None
        path = posixpath.normpath("/" + unquote(parts.path).lstrip("/"))
        bucket = self.bucket_name.lower()
        key: str | None = None
        for endpoint_host, endpoint_port in self._endpoint_origins():
            if port not in (None, endpoint_port) and endpoint_port is not None:
                continue
            if host == endpoint_host and path.lower().startswith(f"/{bucket}/"):
                key = path[len(bucket) + 2:]
            elif host == f"{bucket}.{endpoint_host}":
                key = path.lstrip("/")
            if key is not None:
                break
        if key is None:
            return None
        root = self.location.strip("/")
        if root and not key.startswith(root + "/"):
            return ""
        return key[len(root) + 1:] if root else key

    def _endpoint_origins(self) -> list[tuple[str, int | None]]:
        if self.endpoint_url:
            endpoint = urlsplit(self.endpoint_url)
            return [((endpoint.hostname or "").lower(), endpoint.port)]
        region = self.region_name or "us-east-1"
        return [(host, None) for host in ("s3.amazonaws.com", f"s3.{region}.amazonaws.com",
                                          f"s3-{region}.amazonaws.com", f"s3.dualstack.{region}.amazonaws.com")]
