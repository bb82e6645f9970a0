"""Per-workspace API rate limits (spec errors-and-rate-limits.txt), on real Redis buckets and a real database.

A limited request is a 429 `{"error", "code": "RATE_LIMITED"}` with an integer
Retry-After ≥ 1, and changes nothing. The bucket belongs to the workspace (every key
of it draws from one bucket), each group has its own bucket, and
`Workspace.rate_limits` overrides a group's per-minute limit.
"""

from __future__ import annotations

import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from django.urls import Resolver404, resolve

from messaging.models import Message, Thread
from tests.factories import LineFactory, WorkspaceFactory
from tests.hardening.conftest import call, client_with
from tests.hardening.seed import PNG, db_snapshot, snapshot_diff
from tests.hardening.server import live_http_server
from tuco.services import api_key_create
from tuco.throttles import DEFAULT_LIMITS, RateLimitedMixin

BURST = 100
CLIENT_THREADS = 20  # concurrent connections; each is a server thread with its own PostgreSQL connection


@pytest.fixture(autouse=True)
def _limits_on(settings: Any) -> None:
    settings.TUCO_RATE_LIMITS_ENABLED = True


def _workspace(**fields: Any) -> tuple[Any, str]:
    workspace = WorkspaceFactory(**fields)
    LineFactory(workspace=workspace)
    _, key = api_key_create(workspace=workspace)
    return workspace, key


def _send(client: Any, n: int) -> Any:
    return call(client, "POST", "/api/messages", {"message": f"burst body {n}", "recipientPhone": "+12025550160"})


def _assert_limited(response: Any, *, max_retry_after: int = 60) -> None:
    assert response.status_code == 429, response.content
    body = response.json()
    assert body["code"] == "RATE_LIMITED" and isinstance(body["error"], str) and body["error"]
    retry_after = response.headers["Retry-After"]
    assert retry_after.isdigit() and 1 <= int(retry_after) <= max_retry_after, retry_after


def test_spec_limits_are_the_defaults() -> None:
    assert DEFAULT_LIMITS["send"] == 60
    assert DEFAULT_LIMITS["availability"] == 200
    assert DEFAULT_LIMITS["replies"] == 120
    assert DEFAULT_LIMITS["uploads"] == 60
    assert DEFAULT_LIMITS["unibox_reply"] == 30
    assert DEFAULT_LIMITS["fallback_sms"] == 200
    assert DEFAULT_LIMITS["campaigns"] == 200
    assert DEFAULT_LIMITS["campaign_add_lead"] == 200


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_100_concurrent_sends_is_cut_at_the_bucket() -> None:
    workspace, key = _workspace()
    headers = {"Authorization": f"Bearer {key}"}
    local = threading.local()
    sessions: list[requests.Session] = []
    with live_http_server() as base_url:

        def send(n: int) -> tuple[int, dict[str, str], dict[str, Any]]:
            if not hasattr(local, "session"):
                local.session = requests.Session()
                sessions.append(local.session)
            response = local.session.post(f"{base_url}/api/messages", headers=headers, timeout=60,
                                          json={"message": f"burst body {n}", "recipientPhone": "+12025550161"})
            return response.status_code, dict(response.headers), response.json()

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=CLIENT_THREADS) as pool:
            results = list(pool.map(send, range(BURST)))
        duration = time.monotonic() - started
        for session in sessions:  # hang up: each server thread closes its database connection
            session.close()
    statuses = [status for status, _, _ in results]
    accepted = statuses.count(201)
    # The bucket starts full (60) and refills one token a second during the burst.
    assert 60 <= accepted <= 60 + math.ceil(duration), (accepted, duration)
    assert statuses.count(429) == BURST - accepted, sorted(set(statuses))
    for status, headers_, body in results:
        if status == 429:
            assert body["code"] == "RATE_LIMITED" and body["error"]
            assert headers_["Retry-After"].isdigit() and int(headers_["Retry-After"]) >= 1
    # The limited requests wrote nothing: exactly one row per 201, each body once.
    rows = list(Message.objects.filter(workspace=workspace).values_list("body", flat=True))
    assert len(rows) == accepted and len(set(rows)) == accepted
    accepted_ids = {body["message"]["_id"] for status, _, body in results if status == 201}
    assert accepted_ids == set(Message.objects.filter(workspace=workspace).values_list("id", flat=True))


@pytest.mark.django_db
def test_every_key_of_a_workspace_draws_from_one_bucket_and_workspaces_do_not_share() -> None:
    workspace, key_one = _workspace(rate_limits={"send": 5})
    _, key_two = api_key_create(workspace=workspace, name="second")
    one, two = client_with({"Authorization": f"Bearer {key_one}"}), client_with({"Authorization": f"Bearer {key_two}"})
    statuses = [_send(one if n % 2 else two, n).status_code for n in range(5)]
    assert statuses == [201] * 5
    _assert_limited(_send(one, 5), max_retry_after=12)
    _assert_limited(_send(two, 6), max_retry_after=12)
    assert Message.objects.filter(workspace=workspace).count() == 5
    # Another workspace (default 60/min) is untouched by the first one's empty bucket.
    other, other_key = _workspace()
    other_client = client_with({"Authorization": f"Bearer {other_key}"})
    assert [_send(other_client, 100 + n).status_code for n in range(6)] == [201] * 6
    assert Message.objects.filter(workspace=other).count() == 6


@pytest.mark.django_db
def test_a_workspace_override_sets_its_limit_and_retry_after_follows_the_refill() -> None:
    workspace, key = _workspace(rate_limits={"send": 2})
    client = client_with({"Authorization": f"Bearer {key}"})
    assert [_send(client, n).status_code for n in range(2)] == [201, 201]
    before = db_snapshot()
    limited = _send(client, 2)
    # 2/min refills one token every 30 s.
    _assert_limited(limited, max_retry_after=30)
    assert int(limited.headers["Retry-After"]) >= 29
    assert not snapshot_diff(before, db_snapshot())
    # Reads are not sends: the empty send bucket does not block them.
    assert client.get("/api/messages").status_code == 200


@pytest.mark.django_db
def test_limits_off_switch() -> None:
    from django.test import override_settings

    workspace, key = _workspace(rate_limits={"send": 1})
    client = client_with({"Authorization": f"Bearer {key}"})
    with override_settings(TUCO_RATE_LIMITS_ENABLED=False):
        assert [_send(client, n).status_code for n in range(3)] == [201] * 3


# --- the other groups are wired ----------------------------------------------------------------------------


def _view_class(path: str) -> Any:
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return getattr(match.func, "cls", None)


@pytest.mark.parametrize(("path", "group", "methods"), [
    ("/api/messages", "send", ("POST",)),
    ("/api/replies", "replies", ("GET",)),
    ("/api/uploads", "uploads", ("POST",)),
    ("/api/unibox/send-reply", "unibox_reply", ("POST",)),
    ("/api/fallback-sms", "fallback_sms", ("POST",)),
    ("/api/check-availability-rr", "availability", ("GET", "POST")),
    ("/api/leads/check-availability", "availability", ("GET", "POST")),
    ("/api/webhooks/0123456789abcdef01234567/health-check", "webhook_health_check", ("POST",)),
    ("/api/messages/export", "export", ("GET",)),
    ("/api/campaigns", "campaigns", ("POST",)),
    ("/api/campaigns/0123456789abcdef01234567", "campaigns", ("PATCH", "DELETE")),
    ("/api/campaigns/0123456789abcdef01234567/launch", "campaigns", ("POST",)),
    ("/api/campaigns/0123456789abcdef01234567/pause", "campaigns", ("POST",)),
    ("/api/campaigns/0123456789abcdef01234567/resume", "campaigns", ("POST",)),
    ("/api/campaigns/0123456789abcdef01234567/leads", "campaign_add_lead", ("POST",)),
])
def test_endpoint_groups_are_wired(path: str, group: str, methods: tuple[str, ...]) -> None:
    view = _view_class(path)
    if view is None:
        pytest.skip(f"{path} is not routed yet")
    assert issubclass(view, RateLimitedMixin) and view.rate_group == group, view
    assert set(methods) <= set(view.rate_methods)


@pytest.mark.django_db
def test_replies_are_limited_per_workspace() -> None:
    workspace, key = _workspace(rate_limits={"replies": 3})
    client = client_with({"Authorization": f"Bearer {key}"})
    assert [client.get("/api/replies").status_code for _ in range(3)] == [200] * 3
    _assert_limited(client.get("/api/replies"), max_retry_after=20)
    # Sends have their own bucket.
    assert _send(client, 1).status_code == 201


@pytest.mark.django_db
def test_availability_checks_share_one_bucket_across_both_endpoints() -> None:
    if _view_class("/api/check-availability-rr") is None or _view_class("/api/leads/check-availability") is None:
        pytest.skip("availability endpoints not routed yet")
    workspace, key = _workspace(rate_limits={"availability": 2})
    client = client_with({"Authorization": f"Bearer {key}"})
    # No Private API line here, so the checks themselves are refused (400) — but they do spend tokens.
    first = client.get("/api/check-availability-rr?address=%2B12025550170")
    second = call(client, "POST", "/api/check-availability-rr", {"phones": ["+12025550171"]})
    assert first.status_code != 429 and second.status_code != 429, (first.content, second.content)
    _assert_limited(client.get("/api/leads/check-availability?id=000000000000000000000000"), max_retry_after=30)
    _assert_limited(call(client, "POST", "/api/leads/check-availability", {"address": "+12025550172"}),
                    max_retry_after=30)


@pytest.mark.django_db
def test_uploads_are_limited_and_a_limited_upload_stores_nothing(media: Path) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    workspace, key = _workspace(rate_limits={"uploads": 2})
    client = client_with({"Authorization": f"Bearer {key}"})

    def upload(n: int) -> Any:
        return client.post("/api/uploads", {"file": SimpleUploadedFile(f"pic{n}.png", PNG, "image/png")},
                           format="multipart")

    assert [upload(n).status_code for n in range(2)] == [201, 201]
    stored = sorted(p.name for p in (media / "uploads" / workspace.pk).iterdir())
    _assert_limited(upload(2), max_retry_after=30)
    assert sorted(p.name for p in (media / "uploads" / workspace.pk).iterdir()) == stored
    # Sends are not uploads.
    assert _send(client, 3).status_code == 201


@pytest.mark.django_db
def test_the_31st_unibox_reply_within_a_minute_is_refused_and_writes_nothing() -> None:
    workspace, key = _workspace()
    client = client_with({"Authorization": f"Bearer {key}"})
    thread = Thread.objects.create(workspace=workspace, address="+12025550173")

    def reply(n: int) -> Any:
        return call(client, "POST", "/api/unibox/send-reply", {"threadId": thread.pk, "message": f"reply {n}"})

    assert [reply(n).status_code for n in range(30)] == [201] * 30
    before = db_snapshot()
    _assert_limited(reply(30), max_retry_after=2)  # 30/min refills a token every 2 s
    assert not snapshot_diff(before, db_snapshot())
    assert Message.objects.filter(workspace=workspace).count() == 30
    # Replies have their own bucket: sends still go.
    assert _send(client, 1).status_code == 201


@pytest.mark.django_db
def test_fallback_sms_is_limited_per_workspace() -> None:
    workspace, key = _workspace(rate_limits={"fallback_sms": 2})
    client = client_with({"Authorization": f"Bearer {key}"})

    def text(n: int) -> Any:  # no fallback configured: 200 with success false, no provider call
        return call(client, "POST", "/api/fallback-sms", {"message": f"sms {n}", "recipientPhone": "+12025550174"})

    assert [text(n).status_code for n in range(2)] == [200, 200]
    _assert_limited(text(2), max_retry_after=30)
    assert Message.objects.filter(workspace=workspace).count() == 2


@pytest.mark.django_db
def test_the_11th_webhook_health_check_within_a_minute_is_refused_before_any_call() -> None:
    from tests.fallback.receivers import http_receiver
    from webhooks.models import WebhookEndpoint
    from webhooks.signing import new_secret

    workspace = WorkspaceFactory()
    _, key = api_key_create(workspace=workspace)
    api = client_with({"Authorization": f"Bearer {key}"})
    with http_receiver() as (url, received):
        endpoint = WebhookEndpoint.objects.create(workspace=workspace, url=url, events=["message.sent"], name="x",
                                                  secret=new_secret())
        answers = [api.post(f"/api/webhooks/{endpoint.pk}/health-check").status_code for _ in range(11)]
        assert answers == [200] * 10 + [429]
        assert len(received.requests) == 10  # the refused one called nobody


@pytest.mark.django_db
def test_adding_leads_to_a_campaign_is_limited_and_a_limited_add_enrolls_nobody() -> None:
    from campaigns.models import Enrollment

    workspace, key = _workspace(rate_limits={"campaign_add_lead": 2})
    client = client_with({"Authorization": f"Bearer {key}"})
    created = call(client, "POST", "/api/campaigns", {"name": "Limited", "steps": [{"message": "Hi {firstName}"}]})
    assert created.status_code == 201, created.content
    campaign_id = created.json()["campaign"]["_id"]
    added = [call(client, "POST", f"/api/campaigns/{campaign_id}/leads",
                  {"lead": {"firstName": f"L{n}", "phone": f"+1202555{n:04d}"}}).status_code for n in range(2)]
    assert added == [200, 200]
    _assert_limited(call(client, "POST", f"/api/campaigns/{campaign_id}/leads",
                         {"lead": {"firstName": "L9", "phone": "+12025559999"}}), max_retry_after=30)
    assert Enrollment.objects.filter(campaign_id=campaign_id).count() == 2
    assert not workspace.leads.filter(phone="+12025559999").exists()
