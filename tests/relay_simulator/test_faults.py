"""Fault injection: every kind in docs/relay-simulator.md, `times` and `address` scoping."""

from __future__ import annotations

import time

import pytest
import requests

from .conftest import PHONE, Client, WebhookReceiver, wait_until

OTHER = "+15557654321"
AWAITER_TIMEOUT = {
    "status": 500,
    "message": "Message Send Error",
    "error": {"type": "iMessage Error", "message": "Failed to send message! See attached message error code."},
    "data": None,
}


def test_error_after_send_writes_row_then_answers_801_body(hooked: tuple[Client, WebhookReceiver]) -> None:
    client, receiver = hooked
    client.fault("error-after-send")
    resp = client.send_text("was it sent?", temp_guid="T-e")
    assert resp.status_code == 500
    assert resp.json() == AWAITER_TIMEOUT  # `data` present and null, exactly like #801
    rows = client.sent()
    assert len(rows) == 1 and rows[0]["error"] == 0 and rows[0]["state"] in ("sent", "delivered")
    guid = rows[0]["guid"]
    updated = receiver.wait_for("updated-message", guid=guid)[0]["data"]
    assert updated["isDelivered"] is True
    # The awaiter never matched, so no new-message copy carries the tempGuid.
    assert [e for e in receiver.of_type("new-message", guid) if "tempGuid" in e["data"]] == []
    assert len(receiver.of_type("new-message", guid)) == 1


def test_hang_holds_the_call_until_hang_seconds(make_client) -> None:
    client = make_client(hang_seconds=0.6)
    client.fault("hang")
    started = time.monotonic()
    resp = client.send_text()
    assert time.monotonic() - started >= 0.55
    assert resp.status_code == 500 and resp.json() == AWAITER_TIMEOUT
    assert client.sent()[0]["state"] in ("sent", "delivered")


def test_hang_ends_when_the_client_gives_up(make_client, receiver: WebhookReceiver) -> None:
    client = make_client(hang_seconds=30)
    client.register_webhook(receiver.url())
    client.fault("hang")
    with pytest.raises(requests.ReadTimeout):
        client.api(
            "POST",
            "/message/text",
            json={"chatGuid": f"iMessage;-;{PHONE}", "message": "x", "tempGuid": "h"},
            timeout=0.3,
        )
    assert client.sent()[0]["state"] == "sending"
    # The simulator notices the closed socket, stops holding, frees the tempGuid.
    wait_until(lambda: client.sent()[0]["state"] != "sending", timeout=2)
    guid = client.sent()[0]["guid"]
    receiver.wait_for("updated-message", guid=guid)  # it was really sent, so it gets delivered
    assert client.send_text(temp_guid="h").status_code == 200


def test_send_error_writes_nothing(client: Client) -> None:
    client.fault("send-error")
    resp = client.send_text()
    assert resp.status_code == 500
    body = resp.json()
    assert body["message"] == "Message Send Error" and body["error"]["type"] == "iMessage Error"
    assert "data" not in body
    assert client.sent() == []


def test_never_deliver(hooked: tuple[Client, WebhookReceiver]) -> None:
    client, receiver = hooked
    client.fault("never-deliver")
    guid = client.send_text().json()["data"]["guid"]
    receiver.wait_for("new-message", guid=guid, count=2)
    second = client.send_text(temp_guid="t2").json()["data"]["guid"]  # the fault was used up
    receiver.wait_for("updated-message", guid=second)
    assert receiver.of_type("updated-message", guid) == []
    assert [r["state"] for r in client.sent()] == ["sent", "delivered"]


def test_send_error_webhook(hooked: tuple[Client, WebhookReceiver]) -> None:
    client, receiver = hooked
    client.fault("send-error-webhook")
    resp = client.send_text(temp_guid="T-x")
    assert resp.status_code == 200 and resp.json()["data"]["error"] == 0
    guid = resp.json()["data"]["guid"]
    error = receiver.wait_for("message-send-error", guid=guid)[0]["data"]
    assert error["error"] == 4 and error["chats"][0]["guid"] == f"iMessage;-;{PHONE}"
    assert "tempGuid" not in error
    assert receiver.of_type("updated-message", guid) == []
    row = client.sent()[0]
    assert row["error"] == 4 and row["state"] == "errored"
    got = client.api("GET", f"/message/{guid}").json()["data"]
    assert got["error"] == 4


def test_slow_answers_late_but_sends(make_client) -> None:
    client = make_client(slow_ms=400)
    client.fault("slow")
    started = time.monotonic()
    resp = client.send_text()
    assert resp.status_code == 200
    assert time.monotonic() - started >= 0.4
    fast_started = time.monotonic()
    assert client.send_text(temp_guid="t2").status_code == 200
    assert time.monotonic() - fast_started < 0.3


def test_availability_error(client: Client) -> None:
    client.fault("availability-error")
    resp = client.api("GET", "/handle/availability/imessage", params={"password": "test-pw", "address": PHONE})
    assert resp.status_code == 500
    assert resp.json() == {
        "status": 500,
        "message": "An unhandled error has occurred!",
        "error": {"type": "Server Error", "message": "Failed to determine iMessage availability!"},
    }
    again = client.api("GET", "/handle/availability/imessage", params={"password": "test-pw", "address": PHONE})
    assert again.json()["data"] == {"available": True}


def test_availability_fault_does_not_touch_sends(client: Client) -> None:
    client.fault("availability-error")
    assert client.send_text().status_code == 200
    assert client.sim("GET", "/faults").json()["data"]["pending"][0]["kind"] == "availability-error"


def test_times_counts_matching_operations(client: Client) -> None:
    client.fault("send-error", times=2)
    codes = [client.send_text(temp_guid=f"t{i}").status_code for i in range(3)]
    assert codes == [500, 500, 200]


def test_address_scopes_a_fault(client: Client) -> None:
    client.fault("send-error", address=OTHER)
    assert client.send_text(temp_guid="a").status_code == 200  # PHONE: untouched
    assert client.send_text(chat_guid=f"iMessage;-;{OTHER}", temp_guid="b").status_code == 500
    assert client.send_text(chat_guid=f"iMessage;-;{OTHER}", temp_guid="c").status_code == 200


def test_address_scope_is_normalised(client: Client) -> None:
    client.fault("send-error", address="(555) 765-4321")
    assert client.send_text(chat_guid=f"iMessage;-;{OTHER}").status_code == 500


def test_faults_queue_in_order(client: Client) -> None:
    client.fault("send-error")
    client.fault("error-after-send")
    first, second, third = (client.send_text(temp_guid=f"t{i}") for i in range(3))
    assert first.status_code == 500 and "data" not in first.json()
    assert second.status_code == 500 and second.json()["data"] is None
    assert third.status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "explode"},
        {"kind": "hang", "times": 0},
        {"kind": "hang", "times": "2"},
        {"kind": "hang", "address": "x"},
    ],
)
def test_bad_fault_requests_are_400(client: Client, body: dict) -> None:
    resp = client.sim("POST", "/faults", json=body)
    assert resp.status_code == 400 and "error" in resp.json()


def test_clear_faults(client: Client) -> None:
    client.fault("send-error", times=5)
    client.sim("DELETE", "/faults")
    assert client.send_text().status_code == 200
