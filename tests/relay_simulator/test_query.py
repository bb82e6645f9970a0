"""Reading back: GET /message/:guid, POST /message/query (reference §7), GET /chat/:guid."""

from __future__ import annotations

import time
from urllib.parse import quote

import pytest

from .conftest import DM, PHONE, Client

OTHER = "+15557654321"


@pytest.fixture
def seeded(client: Client) -> tuple[Client, list[dict]]:
    rows = []
    for i, text in enumerate(["alpha", "beta", "gamma"]):
        rows.append(client.send_text(text, temp_guid=f"t{i}").json()["data"])
        time.sleep(0.005)  # distinct dateCreated values
    rows.append(client.send_text("delta", chat_guid=f"iMessage;-;{OTHER}", temp_guid="t3").json()["data"])
    client.sim("POST", "/inbound", json={"from": PHONE, "text": "reply!"})
    return client, rows


def query(client: Client, **body):
    return client.api("POST", "/message/query", json=body)


def test_find_message_and_with(seeded) -> None:
    client, rows = seeded
    guid = rows[0]["guid"]
    plain = client.api("GET", f"/message/{guid}").json()
    assert plain["status"] == 200 and plain["message"] == "Success"
    assert plain["data"]["guid"] == guid and plain["data"]["chats"] == []
    full = client.api("GET", f"/message/{guid}", params={"password": "test-pw", "with": "chats,attachments"})
    assert full.json()["data"]["chats"][0]["guid"] == DM


def test_find_unknown_message_is_404(client: Client) -> None:
    resp = client.api("GET", "/message/NOPE")
    assert resp.status_code == 404
    assert resp.json() == {
        "status": 404,
        "message": "The requested resource was not found",
        "error": {"type": "Database Error", "message": "Message does not exist!"},
    }


def test_query_defaults_desc_with_metadata(seeded) -> None:
    client, _ = seeded
    body = query(client).json()
    assert body["message"] == "Successfully fetched messages!"
    assert body["metadata"] == {"offset": 0, "limit": 100, "total": 5, "count": 5}
    created = [m["dateCreated"] for m in body["data"]]
    assert created == sorted(created, reverse=True)
    assert body["data"][0]["text"] == "reply!" and body["data"][0]["isFromMe"] is False


def test_query_by_chat_guid_is_exact(seeded) -> None:
    client, _ = seeded
    body = query(client, chatGuid=DM, sort="ASC").json()
    assert [m["text"] for m in body["data"]] == ["alpha", "beta", "gamma", "reply!"]


def test_query_unknown_chat_is_koa_plain_404(seeded) -> None:
    client, _ = seeded
    for guid in ("iMessage;-;+19999999999", f"any;-;{PHONE}", f"SMS;-;{PHONE}"):
        resp = query(client, chatGuid=guid)
        assert resp.status_code == 404 and resp.text == "Not Found", guid


def test_where_guid_in(seeded) -> None:
    client, rows = seeded
    wanted = [rows[0]["guid"], rows[2]["guid"], "NOT-A-GUID"]
    body = query(client, where=[{"statement": "message.guid IN (:...guids)", "args": {"guids": wanted}}]).json()
    assert sorted(m["guid"] for m in body["data"]) == sorted(wanted[:2])
    assert body["metadata"]["total"] == 2


def test_where_rowid_greater_than(seeded) -> None:
    client, rows = seeded
    body = query(
        client, sort="ASC", where=[{"statement": "message.ROWID > :id", "args": {"id": rows[1]["originalROWID"]}}]
    ).json()
    assert [m["text"] for m in body["data"]] == ["gamma", "delta", "reply!"]


def test_where_handle_from_me_and_text(seeded) -> None:
    client, _ = seeded
    body = query(
        client,
        where=[
            {"statement": "handle.id = :address", "args": {"address": PHONE}},
            {"statement": "message.is_from_me = :fromMe", "args": {"fromMe": True}},
        ],
    ).json()
    assert sorted(m["text"] for m in body["data"]) == ["alpha", "beta", "gamma"]
    exact = query(client, where=[{"statement": "message.text = :text", "args": {"text": "beta"}}]).json()
    assert [m["text"] for m in exact["data"]] == ["beta"]
    like = query(client, where=[{"statement": "message.text LIKE :t COLLATE NOCASE", "args": {"t": "%ALP%"}}])
    assert [m["text"] for m in like.json()["data"]] == ["alpha"]
    inbound = query(client, where=[{"statement": "message.is_from_me = 0", "args": {}}]).json()
    assert [m["text"] for m in inbound["data"]] == ["reply!"]


def test_after_before_offset_limit(seeded) -> None:
    client, rows = seeded
    after = rows[1]["dateCreated"]
    body = query(client, after=after, before=rows[2]["dateCreated"], sort="ASC").json()
    assert [m["text"] for m in body["data"]] == ["beta", "gamma"]  # inclusive bounds
    page = query(client, sort="ASC", offset=1, limit=2).json()
    assert [m["text"] for m in page["data"]] == ["beta", "gamma"]
    assert page["metadata"] == {"offset": 1, "limit": 2, "total": 5, "count": 2}


def test_with_chats_and_attachments(seeded) -> None:
    client, _ = seeded
    bare = query(client, limit=1).json()["data"][0]
    assert bare["chats"] == []
    full = query(client, limit=1, **{"with": ["chats", "attachments"]}).json()["data"][0]
    assert full["chats"][0]["guid"] == DM


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"limit": 1001}, "The limit may not be greater than 1000."),
        ({"limit": 0}, "The limit must be at least 1."),
        ({"limit": "x"}, "The limit must be a number."),
        ({"offset": -1}, "The offset must be at least 0."),
        ({"sort": "desc"}, "The selected sort is invalid."),
        ({"where": "message.ROWID > 1"}, "The where must be an array."),
        ({"where": [{"args": {}}]}, "The where.0.statement field is required."),
        ({"where": [{"statement": "message.ROWID > 1"}]}, "The where.0.args field must be present (but can be empty)."),
    ],
)
def test_query_validation(client: Client, body: dict, detail: str) -> None:
    resp = query(client, **body)
    assert resp.status_code == 400
    assert resp.json()["error"]["message"] == detail


def test_unknown_column_is_500_like_sqlite(seeded) -> None:
    client, _ = seeded
    resp = query(client, where=[{"statement": "message.nope = :x", "args": {"x": 1}}])
    assert resp.status_code == 500
    assert resp.json()["message"] == "An unhandled error has occurred!"
    assert "no such column" in resp.json()["error"]["message"]


def test_find_chat_exact_match(seeded) -> None:
    client, _ = seeded
    resp = client.api("GET", f"/chat/{quote(DM, safe='')}")
    assert resp.status_code == 200
    data = resp.json()["data"]
    assert data["guid"] == DM and data["chatIdentifier"] == PHONE and data["participants"][0]["address"] == PHONE
    missing = client.api("GET", f"/chat/{quote('any;-;' + PHONE, safe='')}")
    assert missing.status_code == 404
    assert missing.json()["error"] == {"type": "Database Error", "message": "Chat does not exist!"}
