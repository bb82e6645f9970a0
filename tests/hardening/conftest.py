"""Fixtures of the hardening suite: two seeded workspaces (A and B), a media root, request helpers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.hardening.seed import Seeded, seed_workspace


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    return root


@pytest.fixture
def seeded_a(db: Any, media: Path) -> Seeded:
    return seed_workspace(name="Workspace A")


@pytest.fixture
def seeded_b(db: Any, media: Path) -> Seeded:
    return seed_workspace(name="Workspace B")


def client_with(headers: dict[str, str] | None = None) -> APIClient:
    client = APIClient()
    if headers and "Authorization" in headers:
        client.credentials(HTTP_AUTHORIZATION=headers["Authorization"])
    return client


def call(client: APIClient, method: str, path: str, body: Any = None, **extra: Any) -> Any:
    """One request; a body (when given) is JSON: a str is sent as is, anything else is encoded."""
    if body is None:
        return client.generic(method, path, **extra)
    raw = body if isinstance(body, str) else json.dumps(body)
    return client.generic(method, path, data=raw, content_type="application/json", **extra)
