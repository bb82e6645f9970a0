from __future__ import annotations

import contextlib
from typing import Any

import pytest
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
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
def keep_connection(db: Any) -> Any:
    """Requests through the WSGI app (schemathesis' `case.call()`) must not close the test's connection, as
    Django's test client does not: Django closes old connections on every request's start and finish."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


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
