"""POST /api/messages success paths: the response document, stored fields, leads, lines, threads."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from leads.models import Lead, LeadList
from messaging.models import Message, MessageEvent, Thread
from tests.factories import LeadFactory, LineFactory

pytestmark = pytest.mark.django_db

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def _send(api, body, status=201, **headers):
    response = api.post("/api/messages", body, format="json", **headers)
    assert response.status_code == status, response.content
    return response.json()


def test_201_document_carries_the_spec_fields(api, line, workspace) -> None:
    body = _send(api, {"message": "Hey John", "recipientPhone": "+1 (202) 555-1234", "recipientName": "John Doe",
                       "batchId": "b-1"})
    assert body["success"] is True
    assert body["status"] == "pending"
    doc = body["message"]
    assert re.fullmatch(r"[0-9a-f]{24}", doc["_id"])
    assert body["leadId"] == doc["leadId"] and re.fullmatch(r"[0-9a-f]{24}", doc["leadId"])
    assert doc["message"] == "Hey John"
    assert doc["messageType"] == "imessage"  # the default
    assert doc["status"] == "pending"
    assert doc["fromLineId"] == line.pk and doc["fromLinePhone"] == line.phone
    assert doc["recipientPhone"] == "+12025551234"  # normalized to E.164
    assert doc["recipientName"] == "John Doe"
    assert doc["workspaceId"] == workspace.pk
    assert doc["batchId"] == "b-1"
    assert doc["correlationId"].startswith("app_")
    for key in ("createdAt", "updatedAt"):
        assert ISO_MS.match(doc[key]), doc[key]
    for key in ("sentAt", "deliveredAt", "scheduledDate", "externalMessageId", "error", "errorCode"):
        assert doc[key] is None
    stored = Message.objects.get(pk=doc["_id"])
    assert stored.status == "pending" and stored.next_attempt_at is not None
    assert MessageEvent.objects.filter(message=stored, to_status="pending", reason="created").count() == 1


def test_new_recipient_creates_a_quick_sends_lead(api, line, workspace) -> None:
    body = _send(api, {"message": "hi", "recipientPhone": "+12025551234", "recipientName": "Ada Lovelace",
                       "altPhone1": "+14155552671", "altEmail2": "ADA@Example.com"})
    lead = Lead.objects.get(pk=body["leadId"])
    assert lead.list.name == "Quick Sends"
    assert (lead.first_name, lead.last_name, lead.phone) == ("Ada", "Lovelace", "+12025551234")
    assert lead.alt_phone1 == "+14155552671" and lead.alt_email2 == "ada@example.com"
    _send(api, {"message": "second", "recipientPhone": "+14155551111"})
    assert LeadList.objects.filter(workspace=workspace, name="Quick Sends").count() == 1


def test_existing_lead_is_matched_by_phone_then_email_and_alts_merge(api, line, workspace) -> None:
    lead = LeadFactory(workspace=workspace, phone="+12025551234", email="", alt_phone1="+14155552671",
                       alt_phone2="+14155552672", first_name="Grace", last_name="Hopper")
    body = _send(api, {"message": "hi", "recipientPhone": "+12025551234", "recipientEmail": "grace@navy.mil",
                       "altPhone2": "+14155553333"})
    assert body["leadId"] == lead.pk
    lead.refresh_from_db()
    assert lead.alt_phone1 == "+14155552671"  # not provided: preserved
    assert lead.alt_phone2 == "+14155553333"  # provided: overwritten
    assert lead.email == "grace@navy.mil"  # empty primary filled in
    assert body["message"]["recipientName"] == "Grace Hopper"  # derived from the lead
    by_email = _send(api, {"message": "by email", "recipientEmail": "GRACE@navy.mil"})
    assert by_email["leadId"] == lead.pk
    assert Lead.objects.count() == 1


def test_lead_id_with_body_recipient_sends_to_the_body_address(api, line, workspace) -> None:
    lead = LeadFactory(workspace=workspace, phone="+12025550001")
    body = _send(api, {"message": "hi", "leadId": lead.pk, "recipientPhone": "+12025559999"})
    assert body["leadId"] == lead.pk
    assert body["message"]["recipientPhone"] == "+12025559999"
    assert body["message"]["sendToAddress"] == "+12025559999"
    lead.refresh_from_db()
    assert lead.phone == "+12025550001"  # the lead's stored contact is untouched


def test_lead_id_alone_uses_the_lead_contact(api, line, workspace) -> None:
    lead = LeadFactory(workspace=workspace, phone="+12025550001", email="x@y.co")
    doc = _send(api, {"message": "hi", "leadId": lead.pk})["message"]
    assert doc["recipientPhone"] == "+12025550001" and doc["sendToAddress"] == "+12025550001"


def test_scheduled_date_in_the_future_is_scheduled(api, line) -> None:
    when = timezone.now() + timedelta(hours=3)
    body = _send(api, {"message": "later", "recipientPhone": "+12025551234",
                       "scheduledDate": when.strftime("%Y-%m-%dT%H:%M:%SZ")})
    assert body["status"] == "scheduled"
    assert body["message"]["queuedReason"] == "scheduled"
    stored = Message.objects.get(pk=body["message"]["_id"])
    assert abs((stored.next_attempt_at - when).total_seconds()) < 1


def test_scheduled_date_in_the_past_is_pending(api, line) -> None:
    body = _send(api, {"message": "now", "recipientPhone": "+12025551234", "scheduledDate": "2020-01-01T00:00:00Z"})
    assert body["status"] == "pending"


def test_scheduling_fields_and_flags_are_stored(api, line, workspace) -> None:
    body = _send(api, {"message": "hi", "recipientPhone": "+12025551234", "timezone": "America/New_York",
                       "sendWindowStart": "09:00", "sendWindowEnd": "17:00",
                       "allowedDaysOfWeek": ["Mon", 2, "wednesday", "5"], "forceFallback": False,
                       "attachmentUrls": ["https://cdn.test/a.png"], "attachmentNames": ["promo.png"]})
    doc = body["message"]
    assert doc["timezone"] == "America/New_York"
    assert (doc["sendWindowStart"], doc["sendWindowEnd"]) == ("09:00", "17:00")
    assert doc["allowedDaysOfWeek"] == [1, 2, 3, 5]
    assert doc["attachmentUrls"] == ["https://cdn.test/a.png"] and doc["attachmentNames"] == ["promo.png"]


def test_attachments_alone_are_enough(api, line) -> None:
    body = _send(api, {"attachmentUrls": ["https://cdn.test/a.png"], "recipientPhone": "+12025551234"})
    assert body["message"]["message"] == ""


def test_correlation_id_header_beats_body_beats_generated(api, line) -> None:
    from_header = _send(api, {"message": "a", "recipientPhone": "+12025551234", "correlationId": "body-1"},
                        HTTP_X_CORRELATION_ID="hdr-1")
    assert from_header["message"]["correlationId"] == "hdr-1"
    from_body = _send(api, {"message": "b", "recipientPhone": "+12025551234", "correlationId": "body-2"})
    assert from_body["message"]["correlationId"] == "body-2"
    generated = _send(api, {"message": "c", "recipientPhone": "+12025551234"})
    assert re.fullmatch(r"app_[0-9a-f]{16}", generated["message"]["correlationId"])


def test_ghl_headers_are_stored(api, line) -> None:
    doc = _send(api, {"message": "a", "recipientPhone": "+12025551234"},
                HTTP_X_EXECUTION_ID="exec-9", HTTP_X_GHL_WORKFLOW_ID="wf-3")["message"]
    assert (doc["executionId"], doc["ghlWorkflowId"]) == ("exec-9", "wf-3")


def test_round_robin_across_active_lines(api, workspace, line) -> None:
    second = LineFactory(workspace=workspace)
    LineFactory(workspace=workspace, is_active=False)
    used = [_send(api, {"message": f"m{i}", "recipientPhone": f"+1202555{1000 + i}"})["message"]["fromLineId"]
            for i in range(6)]
    assert set(used) == {line.pk, second.pk}
    assert used.count(line.pk) == 3


def test_sticky_sender_keeps_the_recipients_line(api, workspace, line) -> None:
    LineFactory(workspace=workspace)
    first = _send(api, {"message": "first", "recipientPhone": "+12025551234"})["message"]["fromLineId"]
    again = [_send(api, {"message": f"again {i}", "recipientPhone": "+12025551234"})["message"]["fromLineId"]
             for i in range(4)]
    assert set(again) == {first}
    assert Thread.objects.get(address="+12025551234").line_id == first


def test_sticky_line_is_dropped_when_inactive(api, workspace, line) -> None:
    other = LineFactory(workspace=workspace)
    first = _send(api, {"message": "first", "recipientPhone": "+12025551234"})["message"]["fromLineId"]
    sticky = type(line).objects.get(pk=first)
    sticky.is_active = False
    sticky.save()  # as the admin does (another process's change is seen within TUCO_LINE_CACHE_SECONDS)
    moved = _send(api, {"message": "second", "recipientPhone": "+12025551234"})["message"]["fromLineId"]
    assert moved != first and moved in {line.pk, other.pk}
    assert Thread.objects.get(address="+12025551234").line_id == moved


def test_from_line_id_pins_the_line(api, workspace, line) -> None:
    other = LineFactory(workspace=workspace)
    for i in range(3):
        doc = _send(api, {"message": f"p{i}", "recipientPhone": "+12025551234", "fromLineId": other.pk})["message"]
        assert doc["fromLineId"] == other.pk
    assert Message.objects.filter(line_pinned=True).count() == 3


def test_same_recipient_same_thread(api, line) -> None:
    a = _send(api, {"message": "one", "recipientPhone": "+12025551234"})["message"]["threadId"]
    b = _send(api, {"message": "two", "recipientPhone": "+12025551234"})["message"]["threadId"]
    c = _send(api, {"message": "three", "recipientPhone": "+12025559999"})["message"]["threadId"]
    assert a == b != c


def test_unicode_and_emoji_survive(api, line) -> None:
    text = "Olá 👋🏽 — 你好 \u200d 🇧🇷"
    doc = _send(api, {"message": text, "recipientPhone": "+12025551234", "recipientName": "Zoë Ñandú"})["message"]
    assert doc["message"] == text and doc["recipientName"] == "Zoë Ñandú"
    assert Message.objects.get(pk=doc["_id"]).body == text


def test_created_at_uses_the_clock(api, line) -> None:
    with time_machine.travel("2026-03-12T22:57:00.856Z", tick=False):
        doc = _send(api, {"message": "t", "recipientPhone": "+12025551234"})["message"]
    assert doc["createdAt"] == "2026-03-12T22:57:00.856Z"


def test_email_message_uses_an_email_line(api, workspace, line) -> None:
    email_line = LineFactory(workspace=workspace, channel_type="email", device=None, email="me@tuco.test", phone="")
    doc = _send(api, {"message": "hello", "messageType": "email", "recipientEmail": "you@example.com"})["message"]
    assert doc["fromLineId"] == email_line.pk and doc["sendToAddress"] == "you@example.com"


def test_enqueued_at_creation_and_released_when_the_broker_refuses(api, line, monkeypatch,
                                                                   django_capture_on_commit_callbacks) -> None:
    """message_create counts its on-commit publish as enqueued (the sweep leaves the row alone for its lease);
    when the broker refuses the publish, the row is released for the next sweep and the sync fallback starts."""
    from messaging.send import worker
    from messaging.tasks import dispatch_message

    published: list[str] = []
    monkeypatch.setattr(dispatch_message, "apply_async", lambda args, **_: published.append(args[0]))
    with django_capture_on_commit_callbacks(execute=True):
        ok = api.post("/api/messages", {"message": "queued", "recipientPhone": "+12025550901"}, format="json")
    queued = Message.objects.get(pk=ok.json()["message"]["_id"])
    assert published == [queued.pk] and queued.enqueued_at is not None

    def broker_down(args, **_):
        raise ConnectionRefusedError("redis down")

    started: list[str] = []
    monkeypatch.setattr(dispatch_message, "apply_async", broker_down)
    monkeypatch.setattr(worker, "start_inline_send", started.append)
    with django_capture_on_commit_callbacks(execute=True):
        down = api.post("/api/messages", {"message": "broker down", "recipientPhone": "+12025550902"}, format="json")
    assert down.status_code == 201
    refused = Message.objects.get(pk=down.json()["message"]["_id"])
    assert started == [refused.pk] and refused.enqueued_at is None


def test_a_matched_lead_is_named_and_a_new_one_is_not(api, line, workspace) -> None:
    """Spec: a recipient matched to an existing lead answers with existingLeadIds and leadIds; the message is
    still created (201, `success` is "true when the message was created")."""
    lead = LeadFactory(workspace=workspace, phone="+12025550881")
    matched = _send(api, {"message": "hi", "recipientPhone": "+12025550881"})
    assert matched["existingLeadIds"] == [lead.pk] and matched["leadIds"] == [lead.pk]
    assert matched["leadId"] == lead.pk and matched["success"] is True
    by_id = _send(api, {"message": "by id", "leadId": lead.pk})
    assert by_id["existingLeadIds"] == [lead.pk]
    fresh = _send(api, {"message": "hi", "recipientPhone": "+12025550882"})
    assert "existingLeadIds" not in fresh and "leadIds" not in fresh
    duplicate = api.post("/api/messages", {"message": "hi", "recipientPhone": "+12025550881"}, format="json")
    assert duplicate.status_code == 200 and duplicate.json()["existingLeadIds"] == [lead.pk]


def test_crm_links_are_stored_on_the_lead_echoed_and_in_the_document(api, line, workspace) -> None:
    body = _send(api, {"message": "hi", "recipientPhone": "+12025550883", "ghlContactId": "aMUQn0u0Z7cw0NQ7tJ5R",
                       "ghlLocationId": "eL7DD22BdZ0rismu7qCA"})
    assert (body["ghlContactId"], body["ghlLocationId"], body["hsPortalId"], body["hsContactId"]) == (
        "aMUQn0u0Z7cw0NQ7tJ5R", "eL7DD22BdZ0rismu7qCA", None, None)
    lead = Lead.objects.get(pk=body["leadId"])
    assert (lead.ghl_contact_id, lead.ghl_location_id) == ("aMUQn0u0Z7cw0NQ7tJ5R", "eL7DD22BdZ0rismu7qCA")
    document = body["message"]
    assert document["ghlContactId"] == "aMUQn0u0Z7cw0NQ7tJ5R" and document["createdByUserId"] is None
    # A later send by leadId carries the lead's links; a body value replaces the lead's.
    later = _send(api, {"message": "again", "leadId": lead.pk, "hsContactId": "hs-42"})
    assert later["ghlContactId"] == "aMUQn0u0Z7cw0NQ7tJ5R" and later["hsContactId"] == "hs-42"
    assert Lead.objects.get(pk=lead.pk).hs_contact_id == "hs-42"
    too_long = api.post("/api/messages", {"message": "x", "recipientPhone": "+12025550884",
                                          "ghlContactId": "x" * 101}, format="json")
    assert too_long.status_code == 400 and Message.objects.filter(recipient_phone="+12025550884").count() == 0
