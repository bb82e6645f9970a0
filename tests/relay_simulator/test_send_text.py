"""POST /message/text (reference §3, §6, §10, §11)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from .conftest import DM, PHONE, Client, WebhookReceiver, wait_until

BASE_KEYS = [
    "originalROWID",
    "guid",
    "text",
    "attributedBody",
    "handle",
    "handleId",
    "otherHandle",
    "attachments",
    "subject",
    "error",
    "dateCreated",
    "dateRead",
    "dateDelivered",
    "isDelivered",
    "isFromMe",
    "hasDdResults",
    "isArchived",
    "itemType",
    "groupTitle",
    "groupActionType",
    "balloonBundleId",
    "associatedMessageGuid",
    "associatedMessageType",
    "expressiveSendStyleId",
    "threadOriginatorGuid",
    "hasPayloadData",
    "messageSummaryInfo",
    "payloadData",
    "dateEdited",
    "dateRetracted",
    "partCount",
]
REST_ONLY = [
    "country",
    "isDelayed",
    "isAutoReply",
    "isSystemMessage",
    "isServiceMessage",
    "isForward",
    "isAudioMessage",
]


def test_send_answers_message_sent_with_full_message_and_temp_guid(client: Client) -> None:
    before = int(time.time() * 1000)
    resp = client.send_text("Hello", temp_guid="temp-abc")
    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == 200 and body["message"] == "Message sent!"
    data = body["data"]
    for key in BASE_KEYS + REST_ONLY + ["chats", "tempGuid"]:
        assert key in data, key
    assert data["tempGuid"] == "temp-abc"
    assert data["text"] == "Hello" and data["isFromMe"] is True and data["error"] == 0
    assert data["isDelivered"] is False and data["dateDelivered"] is None
    assert data["guid"] == data["guid"].upper() and len(data["guid"]) == 36
    assert data["dateCreated"] >= before
    assert data["handle"]["address"] == PHONE and data["handle"]["service"] == "iMessage"
    assert data["chats"][0]["guid"] == DM and data["chats"][0]["style"] == 45


def test_rowids_increase_and_chat_is_reused(client: Client) -> None:
    first = client.send_text("one", temp_guid="a").json()["data"]
    second = client.send_text("two", temp_guid="b").json()["data"]
    assert second["originalROWID"] == first["originalROWID"] + 1
    assert first["chats"][0]["originalROWID"] == second["chats"][0]["originalROWID"]


def test_sent_list_shows_sending_until_the_call_returns(make_client) -> None:
    client = make_client(send_delay_ms=400, deliver_after_ms=100)
    result: dict[str, object] = {}
    worker = threading.Thread(target=lambda: result.setdefault("resp", client.send_text("slowish")))
    worker.start()
    rows = wait_until(client.sent)
    assert rows[0]["state"] == "sending"
    worker.join()
    assert result["resp"].status_code == 200  # type: ignore[attr-defined]
    assert client.sent()[0]["state"] == "sent"
    row = wait_until(lambda: [r for r in client.sent() if r["state"] == "delivered"])[0]
    assert row["dateDelivered"] is not None
    assert set(row) >= {"guid", "tempGuid", "chatGuid", "address", "text", "attachments", "error", "dateCreated"}
    assert row["tempGuid"] == "temp-1" and row["address"] == PHONE and row["chatGuid"] == DM


def test_webhooks_for_one_send(hooked: tuple[Client, WebhookReceiver]) -> None:
    client, receiver = hooked
    guid = client.send_text("Hi there", temp_guid="T-1").json()["data"]["guid"]
    new = receiver.wait_for("new-message", guid=guid, count=2)
    plain = [e for e in new if "tempGuid" not in e["data"]]
    matched = [e for e in new if e["data"].get("tempGuid") == "T-1"]
    assert len(plain) == 1 and len(matched) == 1
    for event in new:
        assert event["data"]["chats"][0]["guid"] == DM
        assert event["data"]["isFromMe"] is True
        assert "isDelayed" not in event["data"]  # webhook form has no REST-only keys
        assert set(event["data"]["handle"]) == {"originalROWID", "address", "service"}
    updated = receiver.wait_for("updated-message", guid=guid)[0]["data"]
    assert updated["isDelivered"] is True and updated["dateDelivered"] >= updated["dateCreated"]
    assert "chats" not in updated and updated["dateRead"] is None
    assert updated["error"] == 0
    assert client.sent()[0]["state"] == "delivered"
    assert receiver.events[0]["headers"]["Content-Type"] == "application/json"


def test_read_receipt_posts_second_updated_message(make_client, receiver: WebhookReceiver) -> None:
    client = make_client(read_after_ms=50)
    client.register_webhook(receiver.url(), ["updated-message"])
    guid = client.send_text().json()["data"]["guid"]
    delivered, read = receiver.wait_for("updated-message", guid=guid, count=2)
    assert delivered["data"]["dateRead"] is None
    assert read["data"]["dateRead"] is not None and read["data"]["isDelivered"] is True
    assert client.sent()[0]["state"] == "read"
    assert receiver.of_type("new-message") == []  # only the subscribed event type is posted


def test_duplicate_temp_guid_in_flight_is_400_then_allowed_again(make_client) -> None:
    client = make_client(send_delay_ms=300)
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(client.send_text, "one", temp_guid="dup")
        wait_until(client.sent)
        second = client.send_text("two", temp_guid="dup")
        assert second.status_code == 400
        assert second.json() == {
            "status": 400,
            "message": "You've made a bad request! Please check your request params & body",
            "error": {
                "type": "Validation Error",
                "message": "Message is already queued to be sent! (Temp GUID: dup)",
            },
        }
        assert first.result().status_code == 200
    assert client.send_text("three", temp_guid="dup").status_code == 200
    assert [r["text"] for r in client.sent()] == ["one", "three"]


def test_concurrent_sends_get_distinct_rowids_and_guids(make_client) -> None:
    client = make_client(send_delay_ms=20)
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda i: client.send_text(f"m{i}", temp_guid=f"t{i}"), range(40)))
    assert all(r.status_code == 200 for r in results)
    rowids = [r.json()["data"]["originalROWID"] for r in results]
    guids = [r.json()["data"]["guid"] for r in results]
    assert len(set(rowids)) == 40 and len(set(guids)) == 40
    assert len(client.sent()) == 40


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"message": "x", "tempGuid": "t"}, "The chatGuid field is required."),
        ({"chatGuid": "", "message": "x", "tempGuid": "t"}, "The chatGuid field is required."),
        ({"chatGuid": 5, "message": "x", "tempGuid": "t"}, "The chatGuid must be a string."),
        ({"chatGuid": DM, "tempGuid": "t"}, "The message field must be present (but can be empty)."),
        ({"chatGuid": DM, "message": "x", "tempGuid": "t", "method": "sms"}, "The selected method is invalid."),
        ({"chatGuid": DM, "message": "x"}, "A 'tempGuid' is required when sending via AppleScript"),
        ({"chatGuid": DM, "message": "", "tempGuid": "t"}, "A 'message' is required when sending via AppleScript"),
        (
            {"chatGuid": DM, "message": "", "method": "private-api"},
            "A 'message' or 'subject' is required when sending via the Private API",
        ),
        ({"chatGuid": DM, "message": "x", "tempGuid": "t", "partIndex": -1}, "The partIndex must be at least 0."),
    ],
)
def test_validation_errors(client: Client, body: dict, detail: str) -> None:
    resp = client.api("POST", "/message/text", json=body)
    assert resp.status_code == 400
    assert resp.json()["error"] == {"type": "Validation Error", "message": detail}
    assert client.sent() == []


def test_private_api_method_without_private_api_is_send_error(make_client) -> None:
    client = make_client(private_api=False)
    expected = {
        "status": 500,
        "message": "Message Send Error",
        "error": {"type": "iMessage Error", "message": "iMessage Private API is not enabled!"},
    }
    resp = client.send_text(method="private-api")
    assert resp.status_code == 500 and resp.json() == expected
    # An effectId forces the Private API even when the method says apple-script.
    forced = client.send_text(effectId="com.apple.MobileSMS.expressivesend.impact", method="apple-script")
    assert forced.json() == expected
    assert client.sent() == []


def test_private_api_send_needs_no_temp_guid(client: Client) -> None:
    resp = client.send_text("papi", temp_guid=None, method="private-api")
    assert resp.status_code == 200
    assert "tempGuid" not in resp.json()["data"]
    assert client.sent()[0]["method"] == "private-api"


@pytest.mark.parametrize(
    ("chat_guid", "address", "stored"),
    [
        ("iMessage;-;+15551234567", "+15551234567", "iMessage;-;+15551234567"),
        ("iMessage;-;%2B15551234567", "+15551234567", "iMessage;-;+15551234567"),
        ("iMessage;-; 15551234567", "+15551234567", "iMessage;-;+15551234567"),
        ("iMessage;-;5551234567", "+15551234567", "iMessage;-;+15551234567"),
        ("any;-;+15551234567", "+15551234567", "iMessage;-;+15551234567"),
        ("iMessage;-;Someone@Example.com", "someone@example.com", "iMessage;-;someone@example.com"),
        ("SMS;-;+15551234567", "+15551234567", "SMS;-;+15551234567"),
    ],
)
def test_chat_guid_forms(client: Client, chat_guid: str, address: str, stored: str) -> None:
    resp = client.send_text(chat_guid=chat_guid)
    assert resp.status_code == 200, resp.text
    row = client.sent()[0]
    assert row["address"] == address and row["chatGuid"] == stored


def test_group_or_malformed_chat_guid_is_send_error(client: Client) -> None:
    resp = client.send_text(chat_guid="iMessage;+;chat123456")
    assert resp.status_code == 500
    assert resp.json()["message"] == "Message Send Error"
    assert "data" not in resp.json()
    assert client.sent() == []


def test_non_imessage_handle_is_accepted_but_never_delivered(hooked) -> None:
    client, receiver = hooked
    client.sim("POST", "/handles", json={"address": PHONE, "imessage": False})
    resp = client.send_text()
    assert resp.status_code == 200
    guid = resp.json()["data"]["guid"]
    receiver.wait_for("new-message", guid=guid, count=2)
    time.sleep(0.3)  # several delivery periods
    assert receiver.of_type("updated-message") == [] and receiver.of_type("message-send-error") == []
    assert client.sent()[0]["state"] == "sent"


def test_sms_chat_is_delivered_without_date(hooked) -> None:
    client, receiver = hooked
    client.sim("POST", "/handles", json={"address": PHONE, "imessage": False})
    guid = client.send_text(chat_guid=f"SMS;-;{PHONE}").json()["data"]["guid"]
    updated = receiver.wait_for("updated-message", guid=guid)[0]["data"]
    assert updated["isDelivered"] is True and updated["dateDelivered"] is None
    assert updated["handle"]["service"] == "SMS"


def test_invalid_json_is_unhandled_500(client: Client) -> None:
    resp = client.api("POST", "/message/text", data=b"{not json", headers={"Content-Type": "application/json"})
    assert resp.status_code == 500
    assert resp.json()["message"] == "An unhandled error has occurred!"
    assert resp.json()["error"]["type"] == "Server Error"


def test_form_encoded_body_is_accepted(client: Client) -> None:
    resp = client.api("POST", "/message/text", data={"chatGuid": DM, "message": "form", "tempGuid": "f1"})
    assert resp.status_code == 200 and resp.json()["data"]["text"] == "form"
