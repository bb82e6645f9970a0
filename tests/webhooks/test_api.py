"""Webhooks management API: shapes, validation, SSRF refusal, workspace isolation, health check, log, replay."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from django.test import override_settings

from tests.conftest import client_for
from tests.factories import WorkspaceFactory
from tests.webhooks.conftest import events_of, make_endpoint, mark_sent, sending_message
from tuco.services import api_key_create
from webhooks import policy
from webhooks.delivery import deliver_event
from webhooks.models import WebhookEndpoint, WebhookEvent

pytestmark = pytest.mark.django_db

ALL = ["message.sent", "message.delivered", "message.failed", "message.fallback", "message.opened", "message.reply"]


def create(api, receiver, **overrides):
    body = {"url": receiver.url, "events": ["message.sent", "message.reply"], "name": "CRM", **overrides}
    return api.post("/api/webhooks", body, format="json")


def test_create_returns_the_secret_once(api, receiver, workspace) -> None:
    response = create(api, receiver, description="to the CRM")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "secret", "url", "events", "name", "description", "isActive", "createdAt", "warning"}
    assert body["secret"].startswith("whsec_") and body["warning"]
    assert (body["url"], body["events"], body["name"], body["description"], body["isActive"]) == (
        receiver.url, ["message.sent", "message.reply"], "CRM", "to the CRM", True)
    endpoint = WebhookEndpoint.objects.get(pk=body["id"])
    assert endpoint.workspace == workspace and endpoint.secret == body["secret"]
    # Never again: not in list, get or update answers.
    listed = api.get("/api/webhooks").json()["webhooks"][0]
    got = api.get(f"/api/webhooks/{body['id']}").json()
    patched = api.patch(f"/api/webhooks/{body['id']}", {"name": "CRM 2"}, format="json").json()
    for doc in (listed, got, patched["webhook"]):
        assert "secret" not in doc and body["secret"] not in str(doc)


def test_list_is_newest_first_with_health_fields(api, receiver) -> None:
    first = create(api, receiver, name="first").json()["id"]
    second = create(api, receiver, name="second").json()["id"]
    webhooks = api.get("/api/webhooks").json()["webhooks"]
    assert [w["id"] for w in webhooks] == [second, first]
    assert set(webhooks[0]) == {"id", "url", "events", "name", "description", "isActive", "pausedReason",
                                "lastTriggeredAt", "lastSuccessAt", "lastFailureAt", "failureCount", "createdAt",
                                "updatedAt"}
    assert webhooks[0]["failureCount"] == 0 and webhooks[0]["lastSuccessAt"] is None
    assert webhooks[0]["description"] is None


@pytest.mark.parametrize(("body", "error"), [
    ({"url": None}, "url is required"),
    ({"url": "not a url"}, "Invalid URL: URL must be an absolute http(s) URL"),
    ({"url": "ftp://example.com/x"}, "Invalid URL: URL must be an absolute http(s) URL"),
    ({"events": []}, "events must be a non-empty array of event types"),
    ({"events": "message.sent"}, "events must be a non-empty array of event types"),
    ({"events": ["message.sent", "lead.created"]}, "Invalid event types: lead.created. Allowed: " + ", ".join(ALL)),
    ({"name": ""}, "name is required"),
    ({"name": None}, "name is required"),
])
def test_create_validation(api, receiver, body, error) -> None:
    response = create(api, receiver, **body)
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert WebhookEndpoint.objects.count() == 0


def test_all_documented_events_are_accepted(api, receiver) -> None:
    assert create(api, receiver, events=ALL).status_code == 201


@override_settings(TUCO_ALLOW_PRIVATE_URLS=False)
@pytest.mark.parametrize(("url", "reason"), [
    ("https://127.0.0.1/hook", "address 127.0.0.1 is private, loopback or link-local"),
    ("https://10.1.2.3/hook", "address 10.1.2.3 is private, loopback or link-local"),
    ("https://[::1]/hook", "address ::1 is private, loopback or link-local"),
    ("https://169.254.169.254/latest/meta-data", "address 169.254.169.254 is private, loopback or link-local"),
    ("https://localhost/hook", "host 'localhost' is not allowed"),
    ("http://example.com/hook", "URL must use https"),
])
def test_private_urls_are_refused_in_production(api, url, reason) -> None:
    response = api.post("/api/webhooks", {"url": url, "events": ["message.sent"], "name": "x"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"error": f"Invalid URL: {reason}", "code": "INVALID_URL"}
    endpoint = make_endpoint(WorkspaceFactory(), "https://example.com/hook")
    assert api.patch(f"/api/webhooks/{endpoint.pk}", {"url": url}, format="json").status_code == 404


@override_settings(TUCO_ALLOW_PRIVATE_URLS=False)
def test_patching_to_a_private_url_is_refused(api, workspace) -> None:
    endpoint = make_endpoint(workspace, "https://example.com/hook")
    response = api.patch(f"/api/webhooks/{endpoint.pk}", {"url": "https://192.168.1.10/x"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "INVALID_URL"
    endpoint.refresh_from_db()
    assert endpoint.url == "https://example.com/hook"


def test_patch_changes_only_what_is_sent(api, receiver, workspace) -> None:
    endpoint = make_endpoint(workspace, receiver.url, events=("message.sent", "message.failed"))
    response = api.patch(f"/api/webhooks/{endpoint.pk}", {"events": ["message.reply"]}, format="json")
    assert response.status_code == 200
    assert response.json()["success"] is True
    assert response.json()["webhook"]["events"] == ["message.reply"]  # replaced, not merged
    assert response.json()["webhook"]["name"] == "test hook"
    response = api.patch(f"/api/webhooks/{endpoint.pk}", {"description": "x", "name": " new "}, format="json")
    assert (response.json()["webhook"]["name"], response.json()["webhook"]["description"]) == ("new", "x")


@pytest.mark.parametrize(("body", "error"), [
    ({"events": []}, "events must be a non-empty array of event types"),
    ({"events": ["message.nope"]}, "Invalid event types: message.nope. Allowed: " + ", ".join(ALL)),
    ({"name": ""}, "name cannot be empty"),
    ({"url": "nope"}, "Invalid URL: URL must be an absolute http(s) URL"),
    ({"isActive": "yes"}, "isActive must be a boolean"),
])
def test_patch_validation(api, receiver, workspace, body, error) -> None:
    endpoint = make_endpoint(workspace, receiver.url)
    response = api.patch(f"/api/webhooks/{endpoint.pk}", body, format="json")
    assert response.status_code == 400 and response.json()["error"] == error


def test_pause_and_resume(api, receiver, workspace) -> None:
    endpoint = make_endpoint(workspace, receiver.url)
    (waiting,) = events_of(mark_sent(sending_message(workspace)))
    body = api.patch(f"/api/webhooks/{endpoint.pk}", {"isActive": False}, format="json").json()["webhook"]
    assert body["isActive"] is False and body["pausedReason"]
    assert deliver_event(waiting.pk) == "skipped"  # waits
    mark_sent(sending_message(workspace))
    assert endpoint.outbox.count() == 1  # paused on purpose: nothing new recorded
    assert api.patch(f"/api/webhooks/{endpoint.pk}", {"isActive": True}, format="json").status_code == 200
    assert deliver_event(waiting.pk) == "delivered"


def test_delete(api, receiver, workspace) -> None:
    endpoint = make_endpoint(workspace, receiver.url)
    events_of(mark_sent(sending_message(workspace)))
    response = api.delete(f"/api/webhooks/{endpoint.pk}")
    assert response.status_code == 200 and response.json() == {"success": True}
    assert not WebhookEndpoint.objects.exists() and not WebhookEvent.objects.exists()
    assert api.get(f"/api/webhooks/{endpoint.pk}").status_code == 404


def test_another_workspaces_webhook_is_404_everywhere(api, receiver) -> None:
    other = make_endpoint(WorkspaceFactory(), receiver.url)
    (event,) = events_of(mark_sent(sending_message(other.workspace)))
    deliver_event(event.pk)
    base = f"/api/webhooks/{other.pk}"
    for response in (api.get(base), api.patch(base, {"name": "mine"}, format="json"), api.delete(base),
                     api.post(f"{base}/health-check"), api.get(f"{base}/deliveries"),
                     api.post(f"{base}/events/{event.event_id}/replay")):
        assert response.status_code == 404
        assert response.json() == {"error": "Webhook not found"}
    assert api.get("/api/webhooks").json() == {"webhooks": []}
    other.refresh_from_db()
    assert other.name == "test hook" and len(receiver.requests) == 1
    assert api.get("/api/webhooks/not-an-id").status_code == 404


def test_api_needs_a_key_and_writes_need_an_active_workspace(receiver) -> None:
    from rest_framework.test import APIClient

    assert APIClient().get("/api/webhooks").status_code == 401
    workspace = WorkspaceFactory(billing_status="past_due")
    _, raw = api_key_create(workspace=workspace)
    client = client_for(raw)
    assert client.get("/api/webhooks").status_code == 200
    response = client.post("/api/webhooks", {"url": receiver.url, "events": ["message.sent"], "name": "x"},
                           format="json")
    assert response.status_code == 402 and response.json()["code"] == "READ_ONLY"


def test_health_check_sends_a_real_signed_ping(api, receiver, workspace) -> None:
    endpoint = make_endpoint(workspace, receiver.url, events=("message.reply", "message.sent"))
    response = api.post(f"/api/webhooks/{endpoint.pk}/health-check")
    assert response.status_code == 200
    report = response.json()
    assert report["success"] is True and report["statusCode"] == 200 and report["message"]
    assert report["latencyMs"] >= 0 and '"ok": true' in report["response"]
    (got,) = receiver.requests
    assert got.headers["X-Tuco-Event"] == "message.reply"  # the first subscribed event
    assert got.headers["X-Tuco-Event-Id"] == report["eventId"]
    expected = hmac.new(endpoint.secret.encode(), got.body, hashlib.sha256).hexdigest()
    assert got.headers["X-Tuco-Signature"] == expected
    assert got.json["data"] == {"test": True, "message": "This is a health check test webhook from Tuco AI"}
    assert got.json["event"] == "message.reply" and got.json["workspaceId"] == workspace.pk
    endpoint.refresh_from_db()
    assert endpoint.last_success_at is None and not WebhookEvent.objects.exists()  # a test, not an event


def test_health_check_reports_failures(api, receiver, workspace, monkeypatch) -> None:
    endpoint = make_endpoint(workspace, receiver.url)
    receiver.respond_with(500)
    report = api.post(f"/api/webhooks/{endpoint.pk}/health-check").json()
    assert (report["success"], report["statusCode"], report["error"]) == (False, 500, "HTTP 500")
    assert report["details"] and report["response"]
    monkeypatch.setattr(policy, "REQUEST_TIMEOUT_SECONDS", 0.3)
    receiver.delay = 1.0
    report = api.post(f"/api/webhooks/{endpoint.pk}/health-check").json()
    assert (report["success"], report["statusCode"], report["error"]) == (False, None, "Timed out after 0.3s")


@override_settings(TUCO_ALLOW_PRIVATE_URLS=False)
def test_health_check_goes_through_the_ssrf_guard(api, receiver, workspace) -> None:
    endpoint = make_endpoint(workspace, receiver.url)  # stored before the policy changed
    report = api.post(f"/api/webhooks/{endpoint.pk}/health-check").json()
    assert report["success"] is False and report["error"].startswith("Blocked:")
    assert receiver.requests == []


def test_deliveries_lists_events_with_their_attempts(api, receiver, workspace) -> None:
    endpoint = make_endpoint(workspace, receiver.url)
    receiver.respond_with(500)
    (first,) = events_of(mark_sent(sending_message(workspace)))
    deliver_event(first.pk)
    WebhookEvent.objects.filter(pk=first.pk).update(next_attempt_at=first.created_at)
    deliver_event(first.pk)
    (second,) = events_of(mark_sent(sending_message(workspace)))
    body = api.get(f"/api/webhooks/{endpoint.pk}/deliveries").json()
    assert [e["eventId"] for e in body["events"]] == [second.event_id, first.event_id]
    assert body["hasMore"] is False and body["limit"] == 50
    older = body["events"][1]
    assert (older["status"], older["attemptCount"], older["event"]) == ("delivered", 2, "message.sent")
    assert [(a["attempt"], a["statusCode"], a["success"]) for a in older["attempts"]] == [
        (1, 500, False), (2, 200, True)]
    assert older["payload"]["eventId"] == first.event_id
    assert body["events"][0]["attempts"] == [] and body["events"][0]["status"] == "pending"
    page = api.get(f"/api/webhooks/{endpoint.pk}/deliveries?limit=1").json()
    assert page["hasMore"] is True and page["nextCursor"] == second.event_id
    page2 = api.get(f"/api/webhooks/{endpoint.pk}/deliveries?limit=1&cursor={page['nextCursor']}").json()
    assert [e["eventId"] for e in page2["events"]] == [first.event_id]
    delivered = api.get(f"/api/webhooks/{endpoint.pk}/deliveries?status=delivered").json()["events"]
    assert [e["eventId"] for e in delivered] == [first.event_id]
    assert api.get(f"/api/webhooks/{endpoint.pk}/deliveries?status=nope").status_code == 400


def test_replay_resends_the_same_event(api, receiver, workspace, enqueued,
                                       django_capture_on_commit_callbacks) -> None:
    endpoint = make_endpoint(workspace, receiver.url)
    (event,) = events_of(mark_sent(sending_message(workspace)))
    assert deliver_event(event.pk) == "delivered"
    url = f"/api/webhooks/{endpoint.pk}/events/{event.event_id}/replay"
    enqueued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(url)
    assert response.status_code == 202
    assert response.json() == {"success": True, "eventId": event.event_id, "status": "pending"}
    assert enqueued == [(event.pk, None)]
    # Not replayable while it is waiting to go out.
    conflict = api.post(url)
    assert conflict.status_code == 409 and conflict.json()["code"] == "EVENT_NOT_REPLAYABLE"
    assert deliver_event(event.pk) == "delivered"
    first, second = receiver.requests
    assert first.body == second.body
    assert first.headers["X-Tuco-Event-Id"] == second.headers["X-Tuco-Event-Id"] == event.event_id
    attempts = api.get(f"/api/webhooks/{endpoint.pk}/deliveries").json()["events"][0]["attempts"]
    assert [a["attempt"] for a in attempts] == [1, 2]


def test_a_dead_event_can_be_replayed_with_a_fresh_budget(api, receiver, workspace) -> None:
    endpoint = make_endpoint(workspace, receiver.url)
    (event,) = events_of(mark_sent(sending_message(workspace)))
    WebhookEvent.objects.filter(pk=event.pk).update(status="dead", attempt_count=14, round_attempts=14)
    receiver.respond_with(500)
    assert api.post(f"/api/webhooks/{endpoint.pk}/events/{event.event_id}/replay").status_code == 202
    assert deliver_event(event.pk) == "failed"  # back on the retry schedule, not straight to dead
    event.refresh_from_db()
    assert event.attempt_count == 15 and event.round_attempts == 1


def test_replay_of_an_unknown_event_is_404(api, receiver, workspace) -> None:
    endpoint = make_endpoint(workspace, receiver.url)
    response = api.post(f"/api/webhooks/{endpoint.pk}/events/{'a' * 24}/replay")
    assert response.status_code == 404 and response.json() == {"error": "Webhook event not found"}


def test_schema_documents_the_webhooks_api(client) -> None:
    schema = client.get("/api/schema", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    assert {"get", "post"} <= set(paths["/api/webhooks"])
    assert {"get", "patch", "delete"} <= set(paths["/api/webhooks/{webhook_id}"])
    assert "post" in paths["/api/webhooks/{webhook_id}/health-check"]
    assert "get" in paths["/api/webhooks/{webhook_id}/deliveries"]
    assert "post" in paths["/api/webhooks/{webhook_id}/events/{event_id}/replay"]
    created = paths["/api/webhooks"]["post"]["responses"]["201"]["content"]["application/json"]["schema"]
    assert created["$ref"].endswith("/WebhookCreated")
