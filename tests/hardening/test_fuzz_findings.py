"""The server errors `make fuzz` found (docs/hardening.md), one regression test each, with the input it sent.

Provider callbacks (/hooks/...) authenticated with valid secrets or signatures:
- a relay event whose `handle` or `attachments` has the wrong JSON type → was an AttributeError/TypeError;
  now the event is read as far as it makes sense (ignored without an address), 200;
- a NUL (U+0000) in a relay event, a Twilio form field or an email → was a PostgreSQL DataError; now a 400
  that writes nothing (no provider sends one; the API refuses them the same way);
- JSON nested thousands deep in a relay event → was a RecursionError; now the API's 400 INVALID_JSON;
- an SMS or relay reply from an address longer than any phone number or email (or with a provider id longer
  than its column) → was a DataError (value too long); now it is not stored, and answered as any ignored event.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from twilio.request_validator import RequestValidator

from fallback.config import twilio_inbound_url, twilio_status_callback_url
from messaging.models import Message
from tests.hardening.seed import Seeded, db_snapshot, snapshot_diff


def _relay(seeded: Seeded, payload: Any) -> Any:
    body = payload if isinstance(payload, str) else json.dumps(payload)
    return Client().post(f"/hooks/bluebubbles/{seeded.line.pk}?secret={seeded.line.webhook_secret}", body,
                         content_type="application/json")


def _twilio(seeded: Seeded, kind: str, fields: dict[str, str]) -> Any:
    ws = seeded.workspace.pk
    url = twilio_inbound_url(ws) if kind == "inbound" else twilio_status_callback_url(ws)
    signature = RequestValidator(seeded.fallback.twilio_auth_token).compute_signature(url, fields)
    return Client().post(f"/hooks/twilio/{kind}?ws={ws}", fields, HTTP_X_TWILIO_SIGNATURE=signature)


def _new_message(**data: Any) -> dict[str, Any]:
    return {"type": "new-message", "data": {"guid": "fuzz-guid-1", "text": "hi", "isFromMe": False,
                                            "handle": {"address": "+12025550123"}, **data}}


# The exact body schemathesis sent (case 0IvdzB / S7bOJJ): `handle` as an array.
FOUND_HANDLE = ('{"type": "new-message", "data": {"guid": "", "tempGuid": "", "text": null, "isFromMe": false, '
                '"isDelivered": false, "error": 0, "dateCreated": null, "dateDelivered": null, "dateRead": null, '
                '"handle": [null, null], "attachments": []}}')


@pytest.mark.parametrize("payload", [
    FOUND_HANDLE,
    _new_message(handle=[None, None]),
    _new_message(handle="+12025550123"),
])
def test_a_relay_event_with_a_handle_that_is_no_object_is_ignored(seeded_a: Seeded, payload: Any) -> None:
    response = _relay(seeded_a, payload)
    assert response.status_code == 200, response.content
    assert response.json() == {"ok": True, "result": "ignored"}


@pytest.mark.parametrize("attachments", [5, "photo.jpg", {"guid": "a"}, None])
def test_a_relay_message_with_attachments_that_are_no_list_is_stored_without_them(
        seeded_a: Seeded, attachments: Any) -> None:
    response = _relay(seeded_a, _new_message(attachments=attachments))
    assert response.status_code == 200, response.content
    assert response.json()["result"] == "received"
    assert Message.objects.get(external_message_id="fuzz-guid-1").attachment_names == []


@pytest.mark.parametrize("payload", [
    _new_message(text="a\x00b"),
    _new_message(guid="g\x00"),
    {"type": "updated-message", "data": {"guid": "\x00", "isDelivered": True}},
    {"type": "message-send-error", "data": {"tempGuid": "\x00"}},
    {"type": "new-message", "data": {"isFromMe": True, "tempGuid": "t\x00", "guid": "g"}},
    {"type\x00": "x"},
    "[" * 5000 + "]" * 5000,
])
def test_a_relay_event_with_nul_or_absurd_nesting_is_a_400_that_writes_nothing(
        seeded_a: Seeded, payload: Any) -> None:
    before = db_snapshot()
    response = _relay(seeded_a, payload)
    assert response.status_code == 400, response.content
    assert response.json() == {"error": "Invalid JSON body", "code": "INVALID_JSON"}
    assert snapshot_diff(before, db_snapshot()) == []


@pytest.mark.parametrize(("kind", "fields"), [
    ("inbound", {"From": "\x00", "Body": "hi", "MessageSid": "SMfuzz1"}),  # found: From=%00
    ("inbound", {"From": "+12025550123", "Body": "a\x00b", "MessageSid": "SMfuzz2"}),
    ("inbound", {"From": "+12025550123", "Body": "hi", "MessageSid": "SM\x00"}),
    ("status", {"MessageSid": "SM\x00", "MessageStatus": "delivered"}),
    ("status", {"MessageSid": "SMfuzz3", "MessageStatus": "delivered", "To\x00": "x"}),
])
def test_a_signed_twilio_callback_with_a_nul_is_a_400_that_writes_nothing(
        seeded_a: Seeded, kind: str, fields: dict[str, str]) -> None:
    before = db_snapshot()
    response = _twilio(seeded_a, kind, fields)
    assert response.status_code == 400, response.content
    assert response.json() == {"error": "Form fields must not contain NUL characters", "code": "INVALID_BODY"}
    assert snapshot_diff(before, db_snapshot()) == []


def test_valid_twilio_callbacks_still_answer_as_before(seeded_a: Seeded) -> None:
    inbound = _twilio(seeded_a, "inbound", {"From": "+12025550123", "Body": "hi", "MessageSid": "SMok"})
    assert inbound.status_code == 200 and b"<Response>" in inbound.content
    status = _twilio(seeded_a, "status", {"MessageSid": "SMunknown", "MessageStatus": "delivered"})
    assert status.json() == {"ok": True, "result": "unknown"}



@pytest.mark.parametrize("fields", [
    {"From": "+1202555012345678901234567890123456", "Body": "hi", "MessageSid": "SMlong1"},  # found: a long From
    {"From": "x" * 300 + "@example.com", "Body": "hi", "MessageSid": "SMlong2"},
    {"From": "+12025550123", "Body": "hi", "MessageSid": "SM" + "9" * 120},
])
def test_a_twilio_reply_from_an_address_longer_than_any_real_one_is_ignored(
        seeded_a: Seeded, fields: dict[str, str]) -> None:
    before = db_snapshot()
    response = _twilio(seeded_a, "inbound", fields)
    assert response.status_code == 200 and b"<Response>" in response.content
    assert snapshot_diff(before, db_snapshot()) == []


def test_a_relay_message_from_an_overlong_handle_is_ignored(seeded_a: Seeded) -> None:
    before = db_snapshot()
    response = _relay(seeded_a, _new_message(handle={"address": "9" * 40}))
    assert response.json() == {"ok": True, "result": "ignored"}
    response = _relay(seeded_a, _new_message(guid="g" * 101))
    assert response.json() == {"ok": True, "result": "ignored"}
    assert snapshot_diff(before, db_snapshot()) == []
