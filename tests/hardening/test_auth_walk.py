"""Authentication and read-only workspaces on every /api/ route, found by walking the URL conf.

- No key, an unknown, malformed or revoked key, another scheme → 401 `{"error": "Unauthorized"}`
  on every method of every route; only /api/schema and /api/docs are public.
- A past-due workspace gets 402 `{"error": "READ_ONLY", "code": "READ_ONLY", "reason": "past_due"}`
  on every write method and still reads (200); refused writes change nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.hardening.conftest import call, client_with
from tests.hardening.routes import WRITE_METHODS, Route, routes
from tests.hardening.seed import Seeded, db_snapshot, seed_workspace, seeded_path_ids, snapshot_diff
from tuco.models import ApiKey
from tuco.services import api_key_create, api_key_revoke

UNAUTHORIZED = {"error": "Unauthorized"}
READ_ONLY = {"error": "READ_ONLY", "code": "READ_ONLY", "reason": "past_due"}
# GETs that run an availability check rather than read stored data: without a Private API line they are a 400.
CHECKS = {"api/check-availability-rr", "api/leads/check-availability"}


def _api_routes() -> list[Route]:
    found = [r for r in routes() if r.is_api]
    assert len(found) >= 20
    return found


def _ids(seeded: Seeded) -> dict[str, str]:
    return seeded_path_ids(seeded)


def _query(route: Route, seeded: Seeded) -> str:
    """Query parameters a read needs to be a plain success."""
    return {"api/check-availability-rr": "?address=%2B12025550210",
            "api/leads/check-availability": f"?id={seeded.lead.pk}"}.get(route.pattern, "")


def test_public_routes_need_no_key(db: Any) -> None:
    assert Client().get("/api/schema", HTTP_ACCEPT="application/json").status_code == 200
    assert Client().get("/api/docs").status_code == 200
    assert {r.pattern for r in _api_routes() if r.is_public} == {"api/schema", "api/docs"}


def test_the_walk_includes_every_send_route() -> None:
    # The walks below find routes by themselves; this pins that the send endpoints are among them.
    posts = {r.pattern for r in _api_routes() if "POST" in r.methods}
    assert {"api/messages", "api/unibox/send-reply", "api/fallback-sms"} <= posts


def test_every_api_route_refuses_missing_and_bad_keys(seeded_a: Seeded) -> None:
    valid = seeded_a.key
    api_key, revoked = api_key_create(workspace=seeded_a.workspace, name="revoked")
    assert api_key_revoke(api_key=api_key)
    headers: list[dict[str, str]] = [
        {},
        {"HTTP_AUTHORIZATION": "Bearer tuco_sk_not-a-real-key"},
        {"HTTP_AUTHORIZATION": "Bearer not-even-the-prefix"},
        {"HTTP_AUTHORIZATION": f"Bearer {revoked}"},
        {"HTTP_AUTHORIZATION": f"Bearer {valid[:-2]}"},  # a truncated real key
        {"HTTP_AUTHORIZATION": "Bearer "},
        {"HTTP_AUTHORIZATION": f"Basic {valid}"},
        {"HTTP_AUTHORIZATION": valid},  # no scheme
        {"HTTP_X_API_KEY": valid},  # not where Tuco reads it
    ]
    before = db_snapshot()
    wrong = []
    checked = 0
    for route in _api_routes():
        if route.is_public:
            continue
        path = route.path(**_ids(seeded_a))
        for method in route.methods:
            for extra in headers:
                response = call(Client(), method, path, {}, **extra)
                checked += 1
                if response.status_code != 401 or response.json() != UNAUTHORIZED:
                    wrong.append(f"{method} {path} {list(extra)}: {response.status_code} {response.content[:120]}")
    assert not wrong, "\n".join(wrong)
    assert checked >= 30 * len(headers)
    assert not snapshot_diff(before, db_snapshot())


@pytest.fixture
def past_due(db: Any, media: Any) -> Seeded:
    return seed_workspace(name="Past due", billing_status="past_due")


def test_a_past_due_workspace_cannot_write_anywhere(past_due: Seeded) -> None:
    api = client_with(past_due.auth)
    before = db_snapshot()
    wrong = []
    for route in _api_routes():
        if route.is_public:
            continue
        path = route.path(**_ids(past_due))
        for method in route.methods:
            if method not in WRITE_METHODS:
                continue
            response = call(api, method, path, {})
            if response.status_code != 402 or response.json() != READ_ONLY:
                wrong.append(f"{method} {path}: {response.status_code} {response.content[:120]}")
    assert not wrong, "\n".join(wrong)
    assert not snapshot_diff(before, db_snapshot())
    assert ApiKey.objects.filter(workspace=past_due.workspace).count() == 1


def test_a_past_due_workspace_still_reads_everything(past_due: Seeded) -> None:
    api = client_with(past_due.auth)
    checked = 0
    for route in _api_routes():
        if route.is_public or "GET" not in route.methods:
            continue
        response = api.get(route.path(**_ids(past_due)) + _query(route, past_due))
        checked += 1
        if route.pattern in CHECKS:
            assert response.status_code in (200, 400) and response.json().get("code") != "READ_ONLY", route
        else:
            assert response.status_code == 200, (str(route), response.status_code, response.content[:200])
    assert checked >= 12
