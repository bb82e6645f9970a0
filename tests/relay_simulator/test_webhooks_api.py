"""Webhook management API (BlueBubbles 1.9.9, reference §10) and delivery behaviour."""

from __future__ import annotations

import socket
import time

from .conftest import PASSWORD, Client, WebhookReceiver


def test_create_returns_row(client: Client) -> None:
    resp = client.api("POST", "/webhook", json={"url": "http://example.test/a", "events": ["new-message"]})
    assert resp.status_code == 200
    body = resp.json()
    assert body["message"] == "Successfully created webhook!"
    assert body["data"]["id"] == 1 and body["data"]["url"] == "http://example.test/a"
    assert body["data"]["events"] == ["new-message"]
    assert body["data"]["created"].endswith("Z")


def test_existing_url_returns_existing_row_unchanged(client: Client) -> None:
    first = client.register_webhook("http://example.test/a", ["new-message"])
    again = client.register_webhook("http://example.test/a", ["*", "updated-message"])
    assert again == first  # same id, events NOT updated
    assert len(client.api("GET", "/webhook").json()["data"]) == 1


def test_invalid_event_name(client: Client) -> None:
    resp = client.api("POST", "/webhook", json={"url": "http://example.test/a", "events": ["message"]})
    assert resp.status_code == 400
    detail = resp.json()["error"]["message"]
    assert detail.startswith("Invalid webhook event: message! Webhook must be one of: *,new-message,updated-message,")
    assert detail.endswith(",settings-backup-deleted")


def test_create_validation(client: Client) -> None:
    cases = [
        ({"events": ["*"]}, "The url field is required."),
        ({"url": "http://x.test"}, "The events field is required."),
        ({"url": "http://x.test", "events": []}, "The events field is required."),
        ({"url": "http://x.test", "events": "new-message"}, "The events must be an array."),
        ({"url": "ftp://x.test", "events": ["*"]}, "Webhook URL must include an HTTP scheme!"),
        ({"url": "http://x.test", "events": [1]}, "Webhook events must be strings!"),
    ]
    for body, detail in cases:
        resp = client.api("POST", "/webhook", json=body)
        assert resp.status_code == 400, body
        assert resp.json()["error"]["message"] == detail, body


def test_list_and_url_filter_quirks(client: Client) -> None:
    client.register_webhook("http://example.test/a", ["new-message"])
    client.register_webhook("http://example.test/b", ["*"])
    listed = client.api("GET", "/webhook").json()
    assert listed["message"] == "Successfully fetched webhooks!"
    assert [w["url"] for w in listed["data"]] == ["http://example.test/a", "http://example.test/b"]
    one = client.api("GET", "/webhook", params={"password": PASSWORD, "url": "http://example.test/b"}).json()
    assert [w["url"] for w in one["data"]] == ["http://example.test/b"]
    unknown = client.api("GET", "/webhook", params={"password": PASSWORD, "url": "http://nope.test"})
    assert unknown.status_code == 500 and unknown.json()["message"] == "An unhandled error has occurred!"
    by_id = client.api("GET", "/webhook", params={"password": PASSWORD, "id": "1"})
    assert by_id.status_code == 500
    assert by_id.json()["error"]["message"] == "Validator `number` is not defined!"


def test_delete(client: Client) -> None:
    row = client.register_webhook("http://example.test/a")
    resp = client.api("DELETE", f"/webhook/{row['id']}")
    assert resp.json() == {"status": 200, "message": "Successfully deleted webhook!"}
    assert client.api("GET", "/webhook").json()["data"] == []
    missing = client.api("DELETE", f"/webhook/{row['id']}")
    assert missing.status_code == 404
    assert missing.json()["error"] == {"type": "Database Error", "message": "Webhook does not exist!"}


def test_dead_webhook_does_not_block_others(client: Client, receiver: WebhookReceiver) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]  # closed again before use: connection refused
    client.register_webhook(f"http://127.0.0.1:{dead_port}/gone")
    client.register_webhook(receiver.url())
    guid = client.send_text().json()["data"]["guid"]
    receiver.wait_for("new-message", guid=guid, count=2)
    events = client.sim("GET", "/events").json()["data"]
    assert any("error" in e and "/gone" in e["url"] for e in events)
    assert any(e.get("status") == 200 for e in events)


def test_reset_keeps_webhooks_unless_asked(client: Client, receiver: WebhookReceiver) -> None:
    client.register_webhook(receiver.url())
    client.sim("POST", "/reset")
    assert len(client.api("GET", "/webhook").json()["data"]) == 1
    guid = client.send_text().json()["data"]["guid"]
    receiver.wait_for("new-message", guid=guid)
    client.sim("POST", "/reset", json={"webhooks": True})
    assert client.api("GET", "/webhook").json()["data"] == []


def test_webhook_delay_and_event_order(make_client, receiver: WebhookReceiver) -> None:
    client = make_client(webhook_delay_ms=250)
    client.register_webhook(receiver.url())
    started = time.monotonic()
    guid = client.send_text().json()["data"]["guid"]
    assert receiver.of_type("new-message") == []  # the call answered before any webhook left
    receiver.wait_for("updated-message", guid=guid)
    assert time.monotonic() - started >= 0.25
    assert [e["type"] for e in receiver.events] == ["new-message", "new-message", "updated-message"]
