"""POST /api/messages validation: the spec's exact texts, clear 400s, and nothing written."""

from __future__ import annotations

from typing import Any

import pytest

from fallback.models import FallbackConfig
from leads.models import Lead, LeadList
from messaging.models import DedupGuard, Message, MessageEvent, Thread
from tests.factories import LeadFactory, LineFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


def _nothing_written() -> None:
    assert Message.objects.count() == 0
    assert MessageEvent.objects.count() == 0
    assert DedupGuard.objects.count() == 0
    assert Thread.objects.count() == 0
    assert Lead.objects.count() == 0
    assert LeadList.objects.count() == 0


def _post(api, body: Any, status: int) -> dict[str, Any]:
    response = api.post("/api/messages", body, format="json")
    assert response.status_code == status, response.content
    return response.json()


@pytest.mark.parametrize("body", [
    {"recipientPhone": "+12025551234"},
    {"message": "", "recipientPhone": "+12025551234"},
    {"message": "   ", "attachmentUrls": [], "recipientPhone": "+12025551234"},
    {"message": None, "recipientPhone": "+12025551234"},
])
def test_empty_message_and_attachments(api, line, body) -> None:
    assert _post(api, body, 400) == {"error": "Message and attachmentUrls cannot both be empty"}
    _nothing_written()


@pytest.mark.parametrize("message_type", ["whatsapp", "IMESSAGE", "", 7, ["sms"]])
def test_invalid_message_type(api, line, message_type) -> None:
    body = {"message": "hi", "messageType": message_type, "recipientPhone": "+12025551234"}
    assert _post(api, body, 400) == {"error": "Invalid messageType. Must be email, sms, or imessage"}
    _nothing_written()


def test_no_active_lines(api, workspace) -> None:
    LineFactory(workspace=workspace, is_active=False)
    assert _post(api, {"message": "hi", "recipientPhone": "+12025551234"}, 400) == {
        "error": "No active lines in workspace..."}
    _nothing_written()


def test_another_workspaces_lines_do_not_count(api) -> None:
    LineFactory(workspace=WorkspaceFactory())
    assert _post(api, {"message": "hi", "recipientPhone": "+12025551234"}, 400) == {
        "error": "No active lines in workspace..."}


def test_no_recipient_anywhere(api, line) -> None:
    assert _post(api, {"message": "hi"}, 400) == {"error": "Either recipientEmail or recipientPhone is required..."}
    _nothing_written()


def test_lead_without_contact_details_is_no_recipient(api, line, workspace) -> None:
    lead = LeadFactory(workspace=workspace, phone="", email="")
    assert _post(api, {"message": "hi", "leadId": lead.pk}, 400) == {
        "error": "Either recipientEmail or recipientPhone is required..."}
    assert Message.objects.count() == 0


@pytest.mark.parametrize("lead_id", ["667f1f77bcf86cd799439012", "not-an-id", "x" * 64])
def test_unknown_lead(api, line, lead_id) -> None:
    assert _post(api, {"message": "hi", "leadId": lead_id}, 404) == {"error": "Lead not found or access denied"}
    _nothing_written()


def test_lead_of_another_workspace_is_not_found(api, line) -> None:
    lead = LeadFactory(workspace=WorkspaceFactory())
    assert _post(api, {"message": "hi", "leadId": lead.pk}, 404) == {"error": "Lead not found or access denied"}
    assert Message.objects.count() == 0


def test_fallback_flag_without_fallback_configured(api, line, workspace) -> None:
    body = _post(api, {"message": "hi", "recipientPhone": "+12025551234", "sendFallbackSmsOnFailed": True}, 400)
    assert body["code"] == "FALLBACK_NOT_CONFIGURED" and body["error"]
    _nothing_written()
    FallbackConfig.objects.create(workspace=workspace, provider="twilio", twilio_account_sid="AC" + "0" * 32)
    body = _post(api, {"message": "hi", "recipientPhone": "+12025551234", "sendFallbackSmsOnFailed": True}, 400)
    assert body["code"] == "FALLBACK_NOT_CONFIGURED"  # half a Twilio config is not a configured fallback


@pytest.mark.parametrize("field,value,code", [
    ("recipientPhone", "12025551234", "INVALID_PHONE"),
    ("recipientPhone", "+1202555", "INVALID_PHONE"),
    ("recipientPhone", "call me", "INVALID_PHONE"),
    ("recipientPhone", 12025551234, "VALIDATION_ERROR"),
    ("recipientEmail", "not-an-email", "INVALID_EMAIL"),
    ("altPhone2", "+999", "INVALID_PHONE"),
    ("altEmail1", "a@", "INVALID_EMAIL"),
    ("timezone", "Mars/Olympus", "INVALID_TIMEZONE"),
    ("scheduledDate", "next tuesday", "INVALID_SCHEDULED_DATE"),
    ("scheduledDate", 1700000000, "INVALID_SCHEDULED_DATE"),
    ("allowedDaysOfWeek", [1, 7], "INVALID_DAYS"),
    ("allowedDaysOfWeek", [-1], "INVALID_DAYS"),
    ("allowedDaysOfWeek", "monday", "INVALID_DAYS"),
    ("allowedDaysOfWeek", ["funday"], "INVALID_DAYS"),
    ("sendFallbackSmsOnFailed", "yes", "VALIDATION_ERROR"),
    ("forceFallback", 1, "VALIDATION_ERROR"),
    ("batchId", {"a": 1}, "VALIDATION_ERROR"),
    ("message", 42, "VALIDATION_ERROR"),
    ("attachmentNames", "a.png", "VALIDATION_ERROR"),
])
def test_bad_field_values_get_a_clear_400(api, line, field, value, code) -> None:
    body = {"message": "hi", "recipientPhone": "+12025551234", field: value}
    result = _post(api, body, 400)
    assert result["code"] == code
    assert isinstance(result["error"], str) and len(result["error"]) > 5
    _nothing_written()


@pytest.mark.parametrize("window", [{"sendWindowStart": "9:00", "sendWindowEnd": "17:00", "timezone": "UTC"},
                                    {"sendWindowStart": "09:00", "sendWindowEnd": "24:00", "timezone": "UTC"},
                                    {"sendWindowStart": "09:60", "sendWindowEnd": "17:00", "timezone": "UTC"}])
def test_bad_hhmm(api, line, window) -> None:
    assert _post(api, {"message": "hi", "recipientPhone": "+12025551234", **window}, 400)["code"] == \
        "INVALID_TIME_WINDOW"


def test_window_without_timezone(api, line) -> None:
    body = {"message": "hi", "recipientPhone": "+12025551234", "sendWindowStart": "09:00", "sendWindowEnd": "17:00"}
    assert _post(api, body, 400)["code"] == "TIMEZONE_REQUIRED"
    _nothing_written()


@pytest.mark.parametrize("line_id", ["667f1f77bcf86cd799439011", "nope"])
def test_unknown_from_line(api, line, line_id) -> None:
    assert _post(api, {"message": "hi", "recipientPhone": "+12025551234", "fromLineId": line_id}, 404) == {
        "error": "Line not found or inactive", "code": "LINE_NOT_FOUND"}
    _nothing_written()


def test_inactive_or_foreign_from_line(api, workspace, line) -> None:
    inactive = LineFactory(workspace=workspace, is_active=False)
    foreign = LineFactory(workspace=WorkspaceFactory())
    for line_id in (inactive.pk, foreign.pk):
        body = _post(api, {"message": "hi", "recipientPhone": "+12025551234", "fromLineId": line_id}, 404)
        assert body["code"] == "LINE_NOT_FOUND"
    _nothing_written()


def test_attachment_texts(api, line) -> None:
    base = {"message": "hi", "recipientPhone": "+12025551234"}
    assert _post(api, {**base, "attachmentUrls": "https://x.test/a.png"}, 400) == {
        "error": "attachmentUrls must be an array"}
    urls = [f"https://x.test/{i}.png" for i in range(3)]
    assert _post(api, {**base, "attachmentUrls": urls}, 400) == {"error": "Maximum 2 attachments per message"}
    _nothing_written()


@pytest.mark.parametrize("raw,content_type", [(b'{"message": "hi",', "application/json"),
                                              (b"[1, 2]", "application/json"),
                                              (b'"just a string"', "application/json")])
def test_malformed_bodies(api, line, raw, content_type) -> None:
    response = api.generic("POST", "/api/messages", raw, content_type=content_type)
    assert response.status_code == 400
    assert set(response.json()) <= {"error", "code"} and response.json()["error"]
    _nothing_written()


def test_sms_needs_a_phone_and_email_needs_an_email(api, workspace, line) -> None:
    body = _post(api, {"message": "hi", "messageType": "sms", "recipientEmail": "a@b.co"}, 400)
    assert body["code"] == "RECIPIENT_REQUIRED"
    LineFactory(workspace=workspace, channel_type="email", device=None, email="line@tuco.test", phone="")
    body = _post(api, {"message": "hi", "messageType": "email", "recipientPhone": "+12025551234"}, 400)
    assert body["code"] == "RECIPIENT_REQUIRED"
    _nothing_written()


def test_too_long_for_the_channel(api, line) -> None:
    body = _post(api, {"message": "x" * 1601, "messageType": "sms", "recipientPhone": "+12025551234"}, 400)
    assert body["code"] == "MESSAGE_TOO_LONG"


def test_unknown_fields_are_ignored(api, line) -> None:
    response = api.post("/api/messages", {"message": "hi", "recipientPhone": "+12025551234", "colour": "blue",
                                          "nested": {"deep": [1, 2]}}, format="json")
    assert response.status_code == 201


@pytest.mark.parametrize("field", ["message", "recipientName", "batchId", "weird\u0000key"])
def test_nul_characters_are_a_400_not_a_500(api, line, field) -> None:
    body = {"message": "hi", "recipientPhone": "+12025551234", field: "a\u0000b"}
    response = api.post("/api/messages", body, format="json")
    assert response.status_code == 400 and "NUL" in response.json()["error"]
    _nothing_written()
