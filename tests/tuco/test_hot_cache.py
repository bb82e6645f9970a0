"""The per-process caches of the API key and a workspace's active lines (tuco/hot_cache.py): what is cached, what
drops it at once, and the bound on what another process's change takes to be seen."""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lines.models import Line
from messaging.send.pacing import active_lines
from tests.conftest import client_for
from tuco.models import ApiKey
from tuco.services import api_key_create, api_key_revoke

pytestmark = pytest.mark.django_db


def _send(client, n: int = 0):
    return client.post("/api/messages", {"message": f"cache {n}", "recipientPhone": f"+1202555{n:04d}"},
                       format="json")


def _revoke_elsewhere(api_key: ApiKey) -> None:
    """What another web process's revocation looks like from here: the row changes, no signal fires."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE tuco_apikey SET revoked_at = now() WHERE id = %s", [api_key.pk])


def _key_lookups(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/api/lines/by-user").status_code == 200
    return sum(1 for q in captured.captured_queries if 'FROM "tuco_apikey"' in q["sql"])


def test_a_key_is_read_once_per_ttl(workspace, line, settings) -> None:
    settings.TUCO_API_KEY_CACHE_SECONDS = 60
    _, raw = api_key_create(workspace=workspace)
    client = client_for(raw)
    assert _key_lookups(client) == 1
    assert _key_lookups(client) == 0
    settings.TUCO_API_KEY_CACHE_SECONDS = 0
    assert _key_lookups(client) == 1


def test_a_revocation_here_is_immediate_and_elsewhere_takes_at_most_the_ttl(workspace, line, settings) -> None:
    settings.TUCO_API_KEY_CACHE_SECONDS = 0.5
    here, raw_here = api_key_create(workspace=workspace, name="here")
    there, raw_there = api_key_create(workspace=workspace, name="there")
    client_here, client_there = client_for(raw_here), client_for(raw_there)
    assert _send(client_here, 1).status_code == 201 and _send(client_there, 2).status_code == 201
    api_key_revoke(api_key=here)
    assert _send(client_here, 3).status_code == 401
    _revoke_elsewhere(there)
    assert _send(client_there, 4).status_code == 201  # still cached in this process
    time.sleep(0.6)
    assert _send(client_there, 5).status_code == 401


def test_a_past_due_workspace_saved_here_is_read_only_at_once(workspace, line, api, settings) -> None:
    settings.TUCO_API_KEY_CACHE_SECONDS = 60
    assert _send(api, 1).status_code == 201
    workspace.billing_status = "past_due"
    workspace.save()
    response = _send(api, 2)
    assert response.status_code == 402 and response.json()["code"] == "READ_ONLY"


def test_ttl_zero_turns_the_caches_off(workspace, line, settings) -> None:
    settings.TUCO_API_KEY_CACHE_SECONDS = 0
    settings.TUCO_LINE_CACHE_SECONDS = 0
    key, raw = api_key_create(workspace=workspace)
    client = client_for(raw)
    assert _send(client, 1).status_code == 201
    _revoke_elsewhere(key)
    assert _send(client, 2).status_code == 401
    Line.objects.filter(pk=line.pk).update(is_active=False)
    assert active_lines(workspace_id=workspace.pk, channel="phone") == []


def test_active_lines_forget_a_line_saved_here_and_see_others_within_the_ttl(workspace, line, settings) -> None:
    settings.TUCO_LINE_CACHE_SECONDS = 0.5
    assert [x.pk for x in active_lines(workspace_id=workspace.pk, channel="phone")] == [line.pk]
    Line.objects.filter(pk=line.pk).update(is_active=False)  # another process's change: no signal here
    assert [x.pk for x in active_lines(workspace_id=workspace.pk, channel="phone")] == [line.pk]
    time.sleep(0.6)
    assert active_lines(workspace_id=workspace.pk, channel="phone") == []
    line.is_active = True
    line.save()
    assert [x.pk for x in active_lines(workspace_id=workspace.pk, channel="phone")] == [line.pk]
    line.is_active = False
    line.save()
    assert active_lines(workspace_id=workspace.pk, channel="phone") == []


def test_cached_lines_are_copies(workspace, line, settings) -> None:
    settings.TUCO_LINE_CACHE_SECONDS = 60
    first = active_lines(workspace_id=workspace.pk, channel="phone")[0]
    first.phone = "+19999999999"
    assert active_lines(workspace_id=workspace.pk, channel="phone")[0].phone == line.phone
