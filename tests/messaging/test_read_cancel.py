"""GET /api/messages (filters, cursor), GET /api/messages/{id} (timeline), POST …/cancel."""

from __future__ import annotations

import pytest

from messaging.models import Message, Status
from messaging.send import state
from tests.conftest import client_for
from tests.factories import LineFactory, WorkspaceFactory
from tuco.services import api_key_create

pytestmark = pytest.mark.django_db


def _send(api, **body):
    response = api.post("/api/messages", {"message": "hi", "recipientPhone": "+12025551234", **body}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["message"]


def test_list_is_newest_first_with_a_cursor(api, line) -> None:
    ids = [_send(api, message=f"m{i}")["_id"] for i in range(7)]
    page1 = api.get("/api/messages?limit=3").json()
    assert [m["_id"] for m in page1["messages"]] == ids[::-1][:3]
    assert page1["hasMore"] is True
    page2 = api.get(f"/api/messages?limit=3&cursor={page1['nextCursor']}").json()
    page3 = api.get(f"/api/messages?limit=3&cursor={page2['nextCursor']}").json()
    assert [m["_id"] for m in page2["messages"] + page3["messages"]] == ids[::-1][3:]
    assert page3["hasMore"] is False and page3["nextCursor"] is None


@pytest.mark.parametrize("limit", ["0", "101", "abc", "-5"])
def test_limit_is_bounded(api, line, limit) -> None:
    response = api.get(f"/api/messages?limit={limit}")
    assert response.status_code == 400 and response.json()["code"] == "INVALID_LIMIT"


def test_filters(api, workspace, line) -> None:
    other_line = LineFactory(workspace=workspace)
    a = _send(api, message="a", batchId="B1", fromLineId=line.pk)
    b = _send(api, message="b", batchId="B2", fromLineId=other_line.pk, recipientPhone="+12025559999")
    c = _send(api, message="c", correlationId="corr-c")
    Message.objects.filter(pk=b["_id"]).update(status=Status.SENT)

    def ids(query: str) -> set[str]:
        response = api.get(f"/api/messages?{query}")
        assert response.status_code == 200, response.content
        return {m["_id"] for m in response.json()["messages"]}

    assert ids("batchId=B1") == {a["_id"]}
    assert ids(f"fromLineId={other_line.pk}") == {b["_id"]}
    assert ids("status=sent") == {b["_id"]}
    assert ids("status=pending,sent") == {a["_id"], b["_id"], c["_id"]}
    assert ids("correlationId=corr-c") == {c["_id"]}
    assert ids("recipient=%2B12025559999") == {b["_id"]}
    assert ids(f"leadId={a['leadId']}") == {a["_id"], c["_id"]}
    assert ids("messageType=imessage") == {a["_id"], b["_id"], c["_id"]}
    assert ids("createdFrom=2000-01-01T00:00:00Z&createdTo=2001-01-01T00:00:00Z") == set()
    assert api.get("/api/messages?status=lost").status_code == 400
    assert api.get("/api/messages?fromLineId=xyz").status_code == 400


def test_detail_has_the_timeline(api, line) -> None:
    doc = _send(api)
    state.transition(doc["_id"], to=Status.QUEUED, reason="device_gap", fields={"queued_reason": "device_gap"})
    detail = api.get(f"/api/messages/{doc['_id']}").json()
    assert detail["message"]["_id"] == doc["_id"]
    assert [(e["fromStatus"], e["toStatus"], e["reason"]) for e in detail["events"]] == [
        (None, "pending", "created"), ("pending", "queued", "device_gap")]
    assert detail["message"]["queuedReason"] == "device_gap"
    assert detail["attempts"] == []


def test_unknown_and_foreign_ids_are_404(api, line) -> None:
    other = WorkspaceFactory()
    LineFactory(workspace=other)
    _, raw = api_key_create(workspace=other)
    foreign = _send(client_for(raw))
    for message_id in ("667f1f77bcf86cd799439011", foreign["_id"], "garbage"):
        assert api.get(f"/api/messages/{message_id}").status_code == 404
        response = api.post(f"/api/messages/{message_id}/cancel")
        assert response.status_code == 404 and response.json() == {"error": "Message not found"}
    assert Message.objects.get(pk=foreign["_id"]).status == "pending"
    assert foreign["_id"] not in {m["_id"] for m in api.get("/api/messages").json()["messages"]}


@pytest.mark.parametrize("status", [Status.PENDING, Status.QUEUED, Status.SCHEDULED])
def test_cancel_from_waiting_statuses(api, line, status) -> None:
    doc = _send(api)
    Message.objects.filter(pk=doc["_id"]).update(status=status)
    response = api.post(f"/api/messages/{doc['_id']}/cancel")
    assert response.status_code == 200
    assert response.json()["message"]["status"] == "cancelled"
    assert Message.objects.get(pk=doc["_id"]).status == "cancelled"


@pytest.mark.parametrize("status", [Status.SENDING, Status.SENT, Status.DELIVERED, Status.FAILED, Status.FALLBACK,
                                    Status.CANCELLED])
def test_cancel_from_other_statuses_is_409(api, line, status) -> None:
    doc = _send(api)
    Message.objects.filter(pk=doc["_id"]).update(status=status)
    response = api.post(f"/api/messages/{doc['_id']}/cancel")
    assert response.status_code == 409
    assert response.json()["code"] == "MESSAGE_NOT_CANCELLABLE" and status in response.json()["error"]
    assert Message.objects.get(pk=doc["_id"]).status == status


def test_newest_first_is_by_creation_time_when_ids_of_one_second_disagree(api, line, workspace) -> None:
    """Ids are time-ordered only to the second: two web workers can mint them out of creation order."""
    from datetime import timedelta

    from django.utils import timezone

    ids = [api.post("/api/messages", {"message": f"m{i}", "recipientPhone": f"+1202555071{i}"},
                    format="json").json()["message"]["_id"] for i in range(3)]
    base = timezone.now().replace(microsecond=0)
    # The highest id was created first, the lowest last (all within one second).
    for offset, message_id in zip((900_000, 500_000, 100_000), ids, strict=True):
        Message.objects.filter(pk=message_id).update(created_at=base + timedelta(microseconds=offset))
    body = api.get("/api/messages?limit=50").json()
    assert [m["_id"] for m in body["messages"]][:3] == ids
    pages, cursor = [], None
    while True:
        page = api.get("/api/messages?limit=1" + (f"&cursor={cursor}" if cursor else "")).json()
        pages += [m["_id"] for m in page["messages"]]
        cursor = page.get("nextCursor")
        if not cursor:
            break
    assert pages == ids  # each page continues below the cursor's (created_at, id)
    other = WorkspaceFactory()
    foreign = client_for(api_key_create(workspace=other)[1])
    assert foreign.get(f"/api/messages?cursor={ids[0]}").status_code == 400  # another workspace's id: no cursor
