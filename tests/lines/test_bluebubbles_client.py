"""The BlueBubbles client against `responses`, with the server's real envelopes and error bodies."""

from __future__ import annotations

import json

import pytest
import requests
import responses

from lines.relay.bluebubbles import BlueBubblesClient, chat_guid, comparable_text
from lines.relay.errors import RelayErrorKind
from tuco.send_errors import SendError

BASE = "http://mac.test:1234"
MESSAGE = {
    "originalROWID": 18231, "guid": "3F6D2B1C-8A7E-4C1B-9E2F-5A1B2C3D4E5F", "text": "Hello",
    "handle": {"originalROWID": 42, "address": "+15551234567", "service": "iMessage"}, "handleId": 42,
    "attachments": [], "error": 0, "dateCreated": 1732300000123, "dateRead": None, "dateDelivered": None,
    "isDelivered": False, "isFromMe": True, "chats": [{"guid": "iMessage;-;+15551234567", "style": 45}],
}
SEND_ERROR_801 = {"status": 500, "message": "Message Send Error", "data": None,
                  "error": {"type": "iMessage Error",
                            "message": "Failed to send message! See attached message error code."}}


@pytest.fixture
def client(settings) -> BlueBubblesClient:
    settings.TUCO_RELAY_TIMEOUT_SECONDS = 2
    return BlueBubblesClient(base_url=BASE + "/", password="p+ss word", private_api=False)


def test_chat_guid_forms() -> None:
    assert chat_guid("+15551234567") == "iMessage;-;+15551234567"
    assert chat_guid("a@b.co", prefix="any") == "any;-;a@b.co"


def test_comparable_text_matches_like_bluebubbles() -> None:
    assert comparable_text("Hi, John! 👋") == comparable_text("Hi John") == "HiJohn"
    assert comparable_text("👍") == "👍"


@responses.activate
def test_send_text_posts_the_documented_body_and_parses_the_row(client) -> None:
    responses.post(f"{BASE}/api/v1/message/text",
                   json={"status": 200, "message": "Message sent!", "data": {**MESSAGE, "tempGuid": "t-1"}})
    sent = client.send_text(address="+15551234567", text="Hello", temp_guid="t-1")
    assert sent.guid == MESSAGE["guid"] and sent.error == 0 and sent.address == "+15551234567"
    call = responses.calls[0]
    assert json.loads(call.request.body) == {"chatGuid": "iMessage;-;+15551234567", "tempGuid": "t-1",
                                             "message": "Hello", "method": "apple-script"}
    # The password travels URL-encoded in the query string, as BlueBubbles reads it.
    assert "password=p%2Bss+word" in call.request.url or "password=p%2Bss%20word" in call.request.url


@responses.activate
def test_private_api_lines_send_with_the_private_api(settings) -> None:
    responses.post(f"{BASE}/api/v1/message/text", json={"status": 200, "message": "Message sent!", "data": MESSAGE})
    BlueBubblesClient(base_url=BASE, password="pw", private_api=True).send_text(address="+15551234567", text="x",
                                                                                temp_guid="t")
    assert json.loads(responses.calls[0].request.body)["method"] == "private-api"


@pytest.mark.parametrize("status,body,kind", [
    (401, {"status": 401, "message": "You are not authorized to access this resource",
           "error": {"type": "Authentication Error", "message": "Unauthorized"}}, RelayErrorKind.PERMANENT),
    (400, {"status": 400, "message": "You've made a bad request! Please check your request params & body",
           "error": {"type": "Validation Error", "message": "Message is already queued to be sent! (Temp GUID: t-1)"}},
     RelayErrorKind.IN_FLIGHT),
    (400, {"status": 400, "message": "You've made a bad request! Please check your request params & body",
           "error": {"type": "Validation Error", "message": "The chatGuid field is required."}},
     RelayErrorKind.REJECTED),
    (500, SEND_ERROR_801, RelayErrorKind.UNKNOWN),
    (504, {"status": 504, "message": "The request timed-out after 60000 ms!",
           "error": {"type": "Gateway Timeout", "message": "The server took too long to respond and has timed-out!"}},
     RelayErrorKind.UNKNOWN),
])
@responses.activate
def test_send_errors_are_classified(client, status, body, kind) -> None:
    responses.post(f"{BASE}/api/v1/message/text", json=body, status=status)
    with pytest.raises(SendError) as caught:
        client.send_text(address="+15551234567", text="Hello", temp_guid="t-1")
    assert caught.value.kind == kind and caught.value.status == status


@responses.activate
def test_timeouts_are_unknown_and_refused_connections_not_sent(client) -> None:
    responses.post(f"{BASE}/api/v1/message/text", body=requests.exceptions.ReadTimeout("slow"))
    with pytest.raises(SendError) as caught:
        client.send_text(address="+15551234567", text="Hello", temp_guid="t-1")
    assert caught.value.kind == RelayErrorKind.UNKNOWN


def test_connection_refused_is_not_sent(settings) -> None:
    dead = BlueBubblesClient(base_url="http://127.0.0.1:1", password="pw")
    with pytest.raises(SendError) as caught:
        dead.send_text(address="+15551234567", text="Hello", temp_guid="t-1")
    assert caught.value.kind == RelayErrorKind.NOT_SENT


@responses.activate
def test_availability(client) -> None:
    responses.get(f"{BASE}/api/v1/handle/availability/imessage",
                  json={"status": 200, "message": "Success", "data": {"available": False}})
    assert client.check_imessage(address="+15551234567") is False
    assert "address=%2B15551234567" in responses.calls[0].request.url
    responses.get(f"{BASE}/api/v1/handle/availability/imessage", status=500, json={
        "status": 500, "message": "Please make sure you have completed the setup for the Private API, and your "
                                  "helper is connected!",
        "error": {"type": "iMessage Error", "message": "iMessage Private API is not enabled!"}})
    with pytest.raises(SendError) as caught:
        client.check_imessage(address="+15551234567")
    assert caught.value.kind == RelayErrorKind.PRIVATE_API


@responses.activate
def test_get_message_and_404(client) -> None:
    responses.get(f"{BASE}/api/v1/message/{MESSAGE['guid']}", json={"status": 200, "message": "Success",
                                                                   "data": MESSAGE})
    responses.get(f"{BASE}/api/v1/message/NOPE", status=404, json={
        "status": 404, "message": "The requested resource was not found",
        "error": {"type": "Database Error", "message": "Message does not exist!"}})
    assert client.get_message(guid=MESSAGE["guid"]).guid == MESSAGE["guid"]
    assert client.get_message(guid="NOPE") is None


@responses.activate
def test_find_sent_queries_by_handle_and_matches_text(client) -> None:
    other = {**MESSAGE, "guid": "OTHER", "text": "Something else"}
    responses.post(f"{BASE}/api/v1/message/query", json={
        "status": 200, "message": "Successfully fetched messages!", "data": [other, MESSAGE],
        "metadata": {"offset": 0, "limit": 100, "total": 2, "count": 2}})
    rows = client.find_sent(address="+15551234567", text="Hello!", since_ms=1732299990000)
    assert [r.guid for r in rows] == [MESSAGE["guid"]]
    body = json.loads(responses.calls[0].request.body)
    assert body["after"] == 1732299990000
    assert {"statement": "handle.id = :address", "args": {"address": "+15551234567"}} in body["where"]
    assert "chatGuid" not in body  # an unknown chat GUID answers a bare 404 (quirk)


@responses.activate
def test_find_sent_treats_the_bare_404_as_nothing_found(client) -> None:
    responses.post(f"{BASE}/api/v1/message/query", status=404, body="Not Found", content_type="text/plain")
    assert client.find_sent(address="+15551234567", text="x", since_ms=0) == []


@responses.activate
def test_register_webhook(client) -> None:
    responses.post(f"{BASE}/api/v1/webhook", json={"status": 200, "message": "Successfully created webhook!",
                                                   "data": {"id": 1, "url": "https://x", "events": ["new-message"]}})
    assert client.register_webhook(url="https://x", events=["new-message"])["id"] == 1


def test_relay_errors_never_carry_the_password(settings) -> None:
    dead = BlueBubblesClient(base_url="http://127.0.0.1:1", password="s3cret-Relay+pw")
    with pytest.raises(SendError) as caught:
        dead.send_text(address="+15551234567", text="Hello", temp_guid="t-1")
    text = f"{caught.value} {caught.value.message} {caught.value.body}"
    assert "s3cret" not in text and "Relay%2Bpw" not in text
    assert "password=***" in text or "password" not in text
