"""Rate limits when something is wrong: a malformed workspace override, and Redis unreachable.

A malformed `Workspace.rate_limits` value falls back to the group's default (logged once per process)
instead of a 500 on every request of the group. With Redis down the check fails open (README "Rate
limits"): requests go on, `ratelimit.unavailable` is logged.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
import requests
from django.core.cache import cache
from django.test import override_settings

from messaging.models import Message
from tests.e2e.harness import free_port
from tests.factories import LineFactory, WorkspaceFactory
from tests.hardening.conftest import call, client_with
from tests.hardening.server import live_http_server
from tuco.services import api_key_create
from tuco.throttles import DEFAULT_LIMITS


@pytest.fixture(autouse=True)
def _limits_on(settings: Any) -> None:
    settings.TUCO_RATE_LIMITS_ENABLED = True


def _workspace(**fields: Any) -> tuple[Any, str]:
    workspace = WorkspaceFactory(**fields)
    LineFactory(workspace=workspace)
    _, key = api_key_create(workspace=workspace)
    return workspace, key


def _send(client: Any, n: int) -> Any:
    return call(client, "POST", "/api/messages", {"message": f"limit body {n}", "recipientPhone": "+12025550180"})


def _log_events(caplog: Any, name: str) -> list[str]:
    return [record.getMessage() for record in caplog.records if name in record.getMessage()]


@pytest.mark.django_db
@pytest.mark.parametrize("overrides", [{"send": "lots"}, {"send": None}, {"send": -5}, {"send": [60]},
                                       {"send": True}, {"send": {"perMinute": 5}}, ["send", 5], "send=5"])
def test_a_malformed_override_falls_back_to_the_default_and_is_logged_once(overrides: Any, caplog: Any) -> None:
    caplog.set_level(logging.WARNING)
    workspace, key = _workspace(rate_limits=overrides)
    client = client_with({"Authorization": f"Bearer {key}"})
    assert [_send(client, n).status_code for n in range(3)] == [201, 201, 201]
    assert Message.objects.filter(workspace=workspace).count() == 3
    # The bucket is the default's: 60 tokens, 3 spent (plus a little refill).
    tokens = float(cache._cache.get_client().hget(f"tuco:bucket:send:{workspace.pk}", "tokens"))
    assert DEFAULT_LIMITS["send"] - 3 <= tokens < DEFAULT_LIMITS["send"] - 2, tokens
    assert len(_log_events(caplog, "ratelimit.override_invalid")) == 1


@pytest.mark.django_db
def test_well_formed_overrides_still_apply(caplog: Any) -> None:
    for value in (2, 2.0, "2"):
        workspace, key = _workspace(rate_limits={"send": value, "uploads": "oops"})
        client = client_with({"Authorization": f"Bearer {key}"})
        assert [_send(client, n).status_code for n in range(3)] == [201, 201, 429], value


@pytest.mark.django_db(transaction=True)
def test_with_redis_unreachable_rate_limits_fail_open(caplog: Any) -> None:
    caplog.set_level(logging.WARNING)
    workspace, key = _workspace(rate_limits={"send": 1})  # would refuse the second send with Redis up
    dead = f"redis://127.0.0.1:{free_port()}/0"
    caches = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": dead,
                          "KEY_PREFIX": "tuco", "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2}}}
    with override_settings(CACHES=caches), live_http_server() as base_url, requests.Session() as http:
        statuses = [http.post(f"{base_url}/api/messages", headers={"Authorization": f"Bearer {key}"}, timeout=30,
                              json={"message": f"redis down {n}", "recipientPhone": "+12025550181"}).status_code
                    for n in range(3)]
    assert statuses == [201, 201, 201]
    assert Message.objects.filter(workspace=workspace).count() == 3
    assert len(_log_events(caplog, "ratelimit.unavailable")) == 3
