"""The media storage of a test, whichever backend it runs on (filesystem or S3), seen as object names."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from tests.storage.s3server import S3Server
from tuco.storage import MediaStorage, media_storage

BACKENDS = ("filesystem", "s3")


@dataclass
class Media:
    backend: str
    root: Path  # MEDIA_ROOT (what the filesystem backend uses)

    @property
    def storage(self) -> MediaStorage:
        return media_storage()

    def names(self, prefix: str) -> list[str]:
        """Object names under `prefix/`, temporary files of interrupted writes included."""
        return sorted(o.name for o in self.storage.walk(prefix))

    def read(self, name: str) -> bytes:
        return self.storage.read_bytes(name)

    def write(self, name: str, data: bytes) -> None:
        self.storage.write_bytes(name, data)

    def remove(self, name: str) -> None:
        self.storage.remove(name)


def use_backend(backend: str, settings_fixture: Any, root: Path, s3: S3Server | None) -> Media:
    """Point the `tuco_media` storage at `backend` for one test (pytest-django's settings fixture undoes it)."""
    storages = dict(settings.STORAGES)
    if backend == "s3":
        assert s3 is not None
        storages["tuco_media"] = {"BACKEND": "tuco.storage.S3MediaStorage", "OPTIONS": s3.storage_options()}
    else:
        storages["tuco_media"] = {"BACKEND": "tuco.storage.AtomicFileSystemStorage"}
    settings_fixture.MEDIA_ROOT = root
    settings_fixture.STORAGES = storages
    return Media(backend=backend, root=root)
