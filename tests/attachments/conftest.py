from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.attachments.fileserver import FileServer
from tests.storage.media import BACKENDS, Media, use_backend
from tests.storage.s3server import S3Server


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every attachments test runs on both media backends, unless it names fewer
    (`@pytest.mark.storage_backends("s3")`)."""
    if "storage_backend" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("storage_backends")
        metafunc.parametrize("storage_backend", marker.args if marker else BACKENDS)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    server = S3Server()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def media(storage_backend: str, request: pytest.FixtureRequest, settings: Any, tmp_path: Path) -> Media:
    """Every test gets its own media store (cache and uploads): a fresh MEDIA_ROOT, or a fresh prefix in the
    S3 server's bucket; private URLs allowed unless a test says not."""
    root = tmp_path / "media"
    root.mkdir()
    settings.TUCO_ALLOW_PRIVATE_URLS = True
    s3 = request.getfixturevalue("s3_server") if storage_backend == "s3" else None
    return use_backend(storage_backend, settings, root, s3)


@pytest.fixture
def media_root(media: Media) -> Path:
    return media.root


@pytest.fixture
def fileserver() -> Iterator[FileServer]:
    server = FileServer("127.0.0.1")
    yield server
    server.close()


@pytest.fixture
def private_server() -> Iterator[FileServer]:
    """A second server on another loopback address: the "internal" host a redirect must not reach."""
    server = FileServer("127.0.0.2")
    yield server
    server.close()
