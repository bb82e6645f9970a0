"""Inbound replies, attachment sends (reference §4) and /sim/v1/reset."""

from __future__ import annotations

import threading
import time

from .conftest import DM, PASSWORD, PHONE, Client, WebhookReceiver, wait_until

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def send_file(client: Client, data: bytes = PNG, name: str = "photo.png", **fields: str):
    form = {"chatGuid": DM, "name": name, "tempGuid": "att-1", "method": "apple-script", **fields}
    files = {"attachment": (name, data, "application/octet-stream")} if data is not None else None
    return client.api("POST", "/message/attachment", data=form, files=files)


def test_inbound_posts_new_message(hooked: tuple[Client, WebhookReceiver]) -> None:
    client, receiver = hooked
    resp = client.sim("POST", "/inbound", json={"from": PHONE, "text": "STOP", "to": "+15550000000"})
    assert resp.status_code == 200
    view = resp.json()["data"]
    assert view["isFromMe"] is False and view["chatGuid"] == DM
    event = receiver.wait_for("new-message", guid=view["guid"])[0]["data"]
    assert event["isFromMe"] is False and event["text"] == "STOP"
    assert event["handle"]["address"] == PHONE and event["chats"][0]["guid"] == DM
    assert client.sent() == []  # inbound rows are not "sent"
    chat = client.api("GET", "/chat/iMessage%3B-%3B%2B15551234567").json()["data"]
    assert chat["lastAddressedHandle"] == "+15550000000"


def test_inbound_lands_in_the_chat_the_reply_goes_to(client: Client) -> None:
    client.send_text()
    reply = client.sim("POST", "/inbound", json={"from": "(555) 123-4567", "text": "yes"}).json()["data"]
    assert reply["chatGuid"] == DM
    body = client.api("POST", "/message/query", json={"chatGuid": DM}).json()
    assert body["metadata"]["total"] == 2


def test_inbound_from_sms_only_handle_uses_sms_chat(client: Client) -> None:
    client.sim("POST", "/handles", json={"address": PHONE, "imessage": False})
    reply = client.sim("POST", "/inbound", json={"from": PHONE, "text": "sms"}).json()["data"]
    assert reply["chatGuid"] == f"SMS;-;{PHONE}" and reply["service"] == "SMS"


def test_inbound_validation(client: Client) -> None:
    assert client.sim("POST", "/inbound", json={"text": "x"}).status_code == 400
    assert client.sim("POST", "/inbound", json={"from": PHONE}).status_code == 400


def test_attachment_send(hooked: tuple[Client, WebhookReceiver]) -> None:
    client, receiver = hooked
    resp = send_file(client)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["message"] == "Attachment sent!"
    assert "tempGuid" not in body["data"]  # unlike /message/text
    attachment = body["data"]["attachments"][0]
    assert attachment["transferName"] == "photo.png" and attachment["mimeType"] == "image/png"
    assert attachment["totalBytes"] == len(PNG) and attachment["uti"] == "public.png"
    row = client.sent()[0]
    assert row["attachments"] == [{"name": "photo.png", "mimeType": "image/png", "size": len(PNG)}]
    assert row["text"] == ""
    new = receiver.wait_for("new-message", guid=body["data"]["guid"], count=2)
    assert any(e["data"].get("tempGuid") == "att-1" for e in new)
    assert new[0]["data"]["attachments"][0]["transferName"] == "photo.png"


def test_attachment_mime_from_bytes_and_audio_conversion(client: Client) -> None:
    sniffed = send_file(client, name="noextension").json()["data"]["attachments"][0]
    assert sniffed["mimeType"] == "image/png"
    audio = send_file(client, data=b"ID3" + b"\x00" * 64, name="note.mp3", tempGuid="att-2", isAudioMessage="true")
    data = audio.json()["data"]
    assert data["isAudioMessage"] is True
    assert data["attachments"][0]["transferName"] == "note.caf"
    assert data["attachments"][0]["mimeType"] == "audio/x-caf"


def test_attachment_validation(client: Client) -> None:
    def detail(resp) -> str:
        assert resp.status_code == 400
        return resp.json()["error"]["message"]

    assert detail(send_file(client, data=None)) == "Attachment not provided or was empty!"
    assert detail(send_file(client, data=b"")) == "Attachment not provided or was empty!"
    no_name = client.api(
        "POST", "/message/attachment", data={"chatGuid": DM, "tempGuid": "x"}, files={"attachment": ("a.png", PNG)}
    )
    assert detail(no_name) == "The name field is required."
    no_temp = client.api(
        "POST", "/message/attachment", data={"chatGuid": DM, "name": "a.png"}, files={"attachment": ("a.png", PNG)}
    )
    assert detail(no_temp) == "A 'tempGuid' is required when sending via AppleScript"
    assert client.sent() == []


def test_attachment_duplicate_temp_guid_in_flight(make_client) -> None:
    client = make_client(send_delay_ms=300)
    first: dict[str, object] = {}
    worker = threading.Thread(target=lambda: first.setdefault("resp", send_file(client)))
    worker.start()
    wait_until(client.sent)
    dup = send_file(client)
    assert dup.status_code == 400
    assert dup.json()["error"]["message"] == "Attachment is already queued to be sent!"
    worker.join()
    assert first["resp"].status_code == 200  # type: ignore[attr-defined]


def test_upload_and_multipart_send(client: Client) -> None:
    upload = client.api("POST", "/attachment/upload", files={"attachment": ("doc.pdf", b"%PDF-1.4 tiny")})
    assert upload.status_code == 200
    path = upload.json()["data"]["path"]
    resp = client.api(
        "POST",
        "/message/multipart",
        json={
            "chatGuid": DM,
            "tempGuid": "mp-1",
            "parts": [{"partIndex": 0, "text": "see "}, {"partIndex": 1, "attachment": path, "name": "doc.pdf"}],
        },
    )
    assert resp.status_code == 200, resp.text
    data = resp.json()["data"]
    assert data["tempGuid"] == "mp-1"
    assert data["attachments"][0]["mimeType"] == "application/pdf"
    bad = client.api(
        "POST",
        "/message/multipart",
        json={"chatGuid": DM, "parts": [{"partIndex": 0, "attachment": "nope/x.png", "name": "x.png"}]},
    )
    assert bad.json()["error"]["message"] == "Attachment 'nope/x.png' does not exist"


def test_multipart_needs_private_api(make_client) -> None:
    client = make_client(private_api=False)
    resp = client.api("POST", "/message/multipart", json={"chatGuid": DM, "parts": []})
    assert resp.status_code == 500
    assert resp.json()["error"]["message"] == "iMessage Private API is not enabled!"


def test_reset_forgets_messages_handles_faults(make_client, receiver: WebhookReceiver) -> None:
    client = make_client(deliver_after_ms=300)
    client.register_webhook(receiver.url())
    first = client.send_text().json()["data"]
    client.sim("POST", "/handles", json={"address": PHONE, "imessage": False})
    client.fault("send-error", times=3)
    assert client.sim("POST", "/reset").json()["data"]["webhooksKept"] is True

    assert client.sent() == []
    assert client.api("GET", f"/message/{first['guid']}").status_code == 404
    assert client.api("POST", "/message/query", json={"chatGuid": DM}).status_code == 404
    assert client.sim("GET", "/handles").json()["data"] == []
    assert client.sim("GET", "/faults").json()["data"]["pending"] == []
    # The delivery timer of the forgotten message must not fire after the reset.
    time.sleep(0.4)
    assert receiver.of_type("updated-message", first["guid"]) == []
    second = client.send_text().json()["data"]
    assert second["originalROWID"] > first["originalROWID"]  # ROWIDs never go backwards
    receiver.wait_for("updated-message", guid=second["guid"])  # the handle is iMessage again


def test_password_param_on_attachment_route(client: Client) -> None:
    resp = client.session.post(
        f"{client.base}/api/v1/message/attachment",
        params={"password": "wrong"},
        data={"chatGuid": DM, "name": "a.png", "tempGuid": "z"},
        files={"attachment": ("a.png", PNG)},
    )
    assert resp.status_code == 401
    assert client.api("GET", "/ping", params={"password": PASSWORD}).status_code == 200
