from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.attachments.fileserver import FileServer


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    """Every test gets its own MEDIA_ROOT (cache and uploads), private URLs allowed unless a test says not."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    settings.TUCO_ALLOW_PRIVATE_URLS = True
    return root


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

