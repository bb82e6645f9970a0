from __future__ import annotations

import contextlib
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.factories import LineFactory, WorkspaceFactory
from tuco import hot_cache
from tuco.services import api_key_create


@pytest.fixture(autouse=True)
def _clean_redis() -> Any:
    """Token buckets, round-robin counters and caches must not leak between tests."""
    with contextlib.suppress(Exception):  # tests that stop Redis on purpose restart it themselves
        cache.clear()
    hot_cache.forget_all()  # the per-process key and line caches start empty too
    yield


@pytest.fixture
def workspace(db: Any) -> Any:
    return WorkspaceFactory()


@pytest.fixture
def api_key(workspace: Any) -> str:
    _, raw = api_key_create(workspace=workspace)
    return raw


def client_for(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


@pytest.fixture
def api(api_key: str) -> APIClient:
    return client_for(api_key)


@pytest.fixture
def line(workspace: Any) -> Any:
    return LineFactory(workspace=workspace)
