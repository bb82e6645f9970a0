"""GET /api/replies: grouping, items, filters, reference error texts, pagination, rate group."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

from messaging.models import Direction, Message, Status, Thread
from tests.factories import LeadFactory, LineFactory, MessageFactory, WorkspaceFactory
from tuco.models import Workspace

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.webhooks.urls")]

T0 = datetime(2026, 3, 12, 22, 0, tzinfo=UTC)


def inbound(workspace, *, at, lead=None, thread=None, line=None, reply_to=None, body="reply", phone="",
            email="") -> Message:
    m = Message.objects.create(workspace=workspace, direction=Direction.INBOUND, status=Status.RECEIVED, body=body,
                               lead=lead, thread=thread, line=line, reply_to=reply_to, recipient_phone=phone,
                               recipient_email=email)
    Message.objects.filter(pk=m.pk).update(created_at=at)
    m.refresh_from_db()
    return m


def outbound(workspace, *, at, lead=None, thread=None, line=None, body="hello", batch_id="", sent=True) -> Message:
    m = MessageFactory(workspace=workspace, lead=lead, thread=thread, line=line, body=body, batch_id=batch_id,
                       status="sent" if sent else "pending", sent_at=at if sent else None)
    Message.objects.filter(pk=m.pk).update(created_at=at)
    return m


@pytest.fixture
def world(workspace: Workspace):
    line = LineFactory(workspace=workspace)
    other_line = LineFactory(workspace=workspace)
    jane = LeadFactory(workspace=workspace, first_name="Jane", last_name="Smith", phone="+14422646782",
                       email="jane@example.com")
    bob = LeadFactory(workspace=workspace, first_name="Bob", last_name="", phone="+14155550123")
    jane_thread = Thread.objects.create(workspace=workspace, address=jane.phone, lead=jane, line=line)
    stranger_thread = Thread.objects.create(workspace=workspace, address="stranger@example.com")
    first_out = outbound(workspace, at=T0, lead=jane, thread=jane_thread, line=line, body="Hi Jane", batch_id="b1")
    second_out = outbound(workspace, at=T0 + timedelta(minutes=1), lead=jane, thread=jane_thread, line=line,
                          body="Still there?")
    outbound(workspace, at=T0 + timedelta(minutes=2), lead=jane, line=line, body="never sent", sent=False)
    r1 = inbound(workspace, at=T0 + timedelta(minutes=5), lead=jane, thread=jane_thread, line=line,
                 reply_to=second_out, body="Yes", phone=jane.phone)
    r2 = inbound(workspace, at=T0 + timedelta(minutes=30), lead=jane, thread=jane_thread, line=line,
                 reply_to=second_out, body="Stop", phone=jane.phone)
    rb = inbound(workspace, at=T0 + timedelta(minutes=10), lead=bob, line=other_line, body="Who?", phone=bob.phone)
    rs = inbound(workspace, at=T0 + timedelta(minutes=20), thread=stranger_thread, line=line, body="hey",
                 email="stranger@example.com")
    other_ws = WorkspaceFactory()
    inbound(other_ws, at=T0 + timedelta(hours=1), body="not yours", lead=LeadFactory(workspace=other_ws))
    return {"line": line, "other_line": other_line, "jane": jane, "bob": bob, "r1": r1, "r2": r2, "rb": rb,
            "rs": rs, "first_out": first_out, "second_out": second_out}


def get(api, query: str = ""):
    return api.get(f"/api/replies{query}")


def test_one_item_per_lead_or_thread_newest_reply_first(api, world) -> None:
    response = get(api)
    assert response.status_code == 200
    body = response.json()
    assert [r["messageId"] for r in body["replies"]] == [world["r2"].pk, world["rs"].pk, world["rb"].pk]
    assert body["pagination"] == {"page": 1, "limit": 50, "total": 3, "totalPages": 1, "hasMore": False}
    jane = body["replies"][0]
    assert jane == {
        "leadId": world["jane"].pk, "messageId": world["r2"].pk, "message": "Stop",
        "respondedAtUtc": "2026-03-12T22:30:00.000Z", "recipientPhone": "+14422646782",
        "recipientEmail": "jane@example.com", "name": "Jane Smith", "lineId": world["line"].pk,
        "channel": "imessage", "threadId": world["r2"].thread_id, "replyToMessageId": world["second_out"].pk,
        "campaignId": None, "stepIndex": None,
        "recentReplies": [
            {"messageId": world["r2"].pk, "message": "Stop", "receivedAtUtc": "2026-03-12T22:30:00.000Z"},
            {"messageId": world["r1"].pk, "message": "Yes", "receivedAtUtc": "2026-03-12T22:05:00.000Z"},
        ],
        "parentMessages": [
            {"messageId": world["second_out"].pk, "message": "Still there?",
             "sentAtUtc": "2026-03-12T22:01:00.000Z", "batchId": None, "campaignId": None, "stepIndex": None},
            {"messageId": world["first_out"].pk, "message": "Hi Jane", "sentAtUtc": "2026-03-12T22:00:00.000Z",
             "batchId": "b1", "campaignId": None, "stepIndex": None},
        ],
    }
    stranger = body["replies"][1]
    assert stranger["leadId"] is None and stranger["recipientEmail"] == "stranger@example.com"
    assert stranger["parentMessages"] == [] and stranger["name"] is None
    assert body["replies"][2]["name"] == "Bob" and body["replies"][2]["lineId"] == world["other_line"].pk


def test_recent_replies_and_parents_are_capped_at_10(api, workspace) -> None:
    lead = LeadFactory(workspace=workspace)
    for i in range(12):
        outbound(workspace, at=T0 + timedelta(minutes=i), lead=lead, body=f"out {i}")
        inbound(workspace, at=T0 + timedelta(minutes=i, seconds=30), lead=lead, body=f"in {i}")
    (item,) = get(api).json()["replies"]
    assert [r["message"] for r in item["recentReplies"]] == [f"in {i}" for i in range(11, 1, -1)]
    assert [p["message"] for p in item["parentMessages"]] == [f"out {i}" for i in range(11, 1, -1)]


def test_filter_by_lead(api, world) -> None:
    body = get(api, f"?leadId={world['bob'].pk}").json()
    assert [r["messageId"] for r in body["replies"]] == [world["rb"].pk]


def test_unknown_or_foreign_lead_is_404(api, world) -> None:
    assert get(api, f"?leadId={'f' * 24}").status_code == 404
    foreign = LeadFactory(workspace=WorkspaceFactory())
    response = get(api, f"?leadId={foreign.pk}")
    assert response.status_code == 404 and response.json() == {"error": "Lead not found"}


def test_filter_by_recipient(api, world) -> None:
    by_phone = get(api, "?recipientPhone=" + quote("+14422646782")).json()["replies"]
    assert [r["messageId"] for r in by_phone] == [world["r2"].pk]
    # A number that normalizes to the same E.164 matches too.
    loose = get(api, "?recipientPhone=" + quote("+1 (442) 264-6782")).json()["replies"]
    assert [r["messageId"] for r in loose] == [world["r2"].pk]
    by_email = get(api, "?recipientEmail=JANE@example.com").json()["replies"]
    assert [r["messageId"] for r in by_email] == [world["r2"].pk]
    stranger = get(api, "?recipientEmail=stranger@example.com").json()["replies"]
    assert [r["messageId"] for r in stranger] == [world["rs"].pk]
    assert get(api, "?recipientPhone=" + quote("+19999999999")).json()["replies"] == []


def test_filter_by_line(api, world) -> None:
    body = get(api, f"?lineId={world['other_line'].pk}").json()
    assert [r["messageId"] for r in body["replies"]] == [world["rb"].pk]


def test_filter_by_date_is_inclusive_on_the_reply_time(api, world) -> None:
    body = get(api, "?dateFrom=2026-03-12T22:05:00Z&dateTo=2026-03-12T22:10:00Z").json()
    # Jane's newest reply inside the window is r1; Bob's is on the upper bound.
    assert [r["messageId"] for r in body["replies"]] == [world["rb"].pk, world["r1"].pk]
    whole_day = get(api, "?dateFrom=2026-03-12&dateTo=2026-03-12").json()["pagination"]["total"]
    assert whole_day == 3
    assert get(api, "?dateFrom=2026-03-13").json()["replies"] == []


def test_campaign_filter_is_validated_and_matches_nothing_yet(api, world) -> None:
    response = get(api, f"?campaignId={'c' * 24}")
    assert response.status_code == 200 and response.json()["replies"] == []
    assert response.json()["pagination"]["total"] == 0


@pytest.mark.parametrize(("query", "error"), [
    ("?leadId=123", "Invalid leadId"),
    ("?campaignId=nope", "Invalid campaignId"),
    ("?lineId=line_001", "Invalid lineId"),
    ("?dateFrom=yesterday", "Invalid dateFrom"),
    ("?dateTo=2026-13-45", "Invalid dateTo"),
    ("?dateFrom=2026-03-13T00:00:00Z&dateTo=2026-03-12T00:00:00Z", "dateFrom must be <= dateTo"),
])
def test_reference_error_texts(api, world, query, error) -> None:
    response = get(api, query)
    assert response.status_code == 400
    assert response.json() == {"error": error}


def test_pagination(api, world) -> None:
    page2 = get(api, "?limit=1&page=2").json()
    assert [r["messageId"] for r in page2["replies"]] == [world["rs"].pk]
    assert page2["pagination"] == {"page": 2, "limit": 1, "total": 3, "totalPages": 3, "hasMore": True}
    assert get(api, "?limit=1&page=9").json()["replies"] == []
    assert get(api, "?limit=100").status_code == 200
    assert get(api, "?limit=101").status_code == 400
    assert get(api, "?page=0").status_code == 400


def test_replies_are_in_their_own_rate_group(api, workspace, world) -> None:
    Workspace.objects.filter(pk=workspace.pk).update(rate_limits={"replies": 2})
    assert get(api).status_code == 200
    assert get(api).status_code == 200
    limited = get(api)
    assert limited.status_code == 429 and limited.headers["Retry-After"]
    assert api.get("/api/messages").status_code == 200  # other groups are not affected


def test_replies_need_a_key(world) -> None:
    from rest_framework.test import APIClient

    assert APIClient().get("/api/replies").status_code == 401
