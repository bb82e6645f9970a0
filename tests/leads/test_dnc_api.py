"""Do-not-contact API and the DNC service other apps call (dnc_add, dnc_blocked_address, is_opt_out)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from leads.dnc import dnc_add, dnc_blocked_address, is_opt_out
from leads.models import DncEntry
from tests.factories import WorkspaceFactory
from tests.leads.factories import DncEntryFactory

pytestmark = pytest.mark.django_db


def test_add_phone_normalizes_to_e164(api, workspace) -> None:
    with time_machine.travel(datetime(2026, 5, 1, 9, 30, tzinfo=UTC), tick=False):
        response = api.post("/api/dnc", {"phone": "(904) 295-6129", "reason": "manual"}, format="json")
    assert response.status_code == 201, response.content
    entry = DncEntry.objects.get()
    assert entry.address == "+19042956129"
    assert response.json() == {"created": True, "entry": {
        "_id": entry.pk, "address": "+19042956129", "phone": "+19042956129", "email": None, "reason": "manual",
        "sourceMessageId": None, "workspaceId": workspace.pk, "createdAt": "2026-05-01T09:30:00.000Z"}}
    assert dnc_blocked_address(workspace_id=workspace.pk, addresses=["+19042956129"]) == "+19042956129"


def test_adding_again_returns_the_same_entry_with_200(api) -> None:
    first = api.post("/api/dnc", {"phone": "+19042956129", "reason": "complaint"}, format="json").json()
    again = api.post("/api/dnc", {"phone": "904.295.6129", "reason": "other"}, format="json")
    assert again.status_code == 200
    assert again.json() == {"created": False, "entry": first["entry"]}
    assert DncEntry.objects.count() == 1 and DncEntry.objects.get().reason == "complaint"


def test_add_email_and_address(api) -> None:
    email = api.post("/api/dnc", {"email": " Someone@Example.COM "}, format="json")
    assert email.status_code == 201
    assert email.json()["entry"] | {"_id": None, "createdAt": None, "workspaceId": None} == {
        "_id": None, "address": "someone@example.com", "phone": None, "email": "someone@example.com",
        "reason": "manual", "sourceMessageId": None, "workspaceId": None, "createdAt": None}
    by_address = api.post("/api/dnc", {"address": "+442079460958"}, format="json")
    assert by_address.status_code == 201 and by_address.json()["entry"]["phone"] == "+442079460958"


@pytest.mark.parametrize(("body", "error"), [
    ({}, "phone or email is required"),
    ({"phone": ""}, "phone or email is required"),
    ({"phone": "+19042956129", "email": "a@b.co"}, "Provide one of phone, email or address"),
    ({"phone": 9042956129}, "phone must be a string of at most 254 characters"),
    ({"phone": "12"}, "phone must be a valid phone number, e.g. +19042956129 or (904) 295-6129"),
    ({"email": "nope"}, "email must be a valid email address"),
    ({"phone": "+19042956129", "reason": 5}, "reason must be a string of at most 100 characters"),
    ({"phone": "+19042956129", "reason": "x" * 101}, "reason must be a string of at most 100 characters"),
    (["+19042956129"], "Request body must be a JSON object"),
])
def test_add_validation_writes_nothing(api, body, error) -> None:
    response = api.post("/api/dnc", body, format="json")
    assert response.status_code == 400 and response.json()["error"] == error
    assert DncEntry.objects.count() == 0


def test_list_search_and_pagination(api, workspace) -> None:
    for minute, address in enumerate(["+19042956129", "+12025550130", "stop@example.com"]):
        with time_machine.travel(datetime(2026, 1, 1, 8, minute, tzinfo=UTC), tick=False):
            DncEntryFactory(workspace=workspace, address=address)
    DncEntryFactory(workspace=WorkspaceFactory(), address="+19045550000")
    body = api.get("/api/dnc").json()
    assert [e["address"] for e in body["entries"]] == ["stop@example.com", "+12025550130", "+19042956129"]
    assert body["pagination"] == {"page": 1, "limit": 50, "totalCount": 3, "totalPages": 1}
    assert [e["address"] for e in api.get("/api/dnc?search=904").json()["entries"]] == ["+19042956129"]
    assert [e["address"] for e in api.get("/api/dnc?search=(904) 295").json()["entries"]] == ["+19042956129"]
    assert [e["address"] for e in api.get("/api/dnc?search=STOP@").json()["entries"]] == ["stop@example.com"]
    page2 = api.get("/api/dnc?page=2&limit=2").json()
    assert [e["address"] for e in page2["entries"]] == ["+19042956129"]
    assert page2["pagination"] == {"page": 2, "limit": 2, "totalCount": 3, "totalPages": 2}
    bad = api.get("/api/dnc?limit=500")
    assert bad.status_code == 400 and bad.json() == {"error": "limit must be an integer between 1 and 100",
                                                     "code": "INVALID_LIMIT"}


def test_delete_by_query_and_by_path(api, workspace) -> None:
    a, b = DncEntryFactory(workspace=workspace), DncEntryFactory(workspace=workspace)
    assert api.delete(f"/api/dnc?id={a.pk}").json() == {"deletedCount": 1}
    assert api.delete(f"/api/dnc/{b.pk}").json() == {"deletedCount": 1}
    assert DncEntry.objects.count() == 0
    gone = api.delete(f"/api/dnc/{b.pk}")
    assert gone.status_code == 404 and gone.json() == {"error": "DNC entry not found"}
    missing = api.delete("/api/dnc")
    assert missing.status_code == 400 and missing.json() == {"error": "id is required", "code": "VALIDATION_ERROR"}


def test_another_workspaces_entry_is_404(api) -> None:
    foreign = DncEntryFactory(workspace=WorkspaceFactory())
    for response in (api.delete(f"/api/dnc?id={foreign.pk}"), api.delete(f"/api/dnc/{foreign.pk}"),
                     api.get(f"/api/dnc/{foreign.pk}"), api.delete("/api/dnc?id=nope")):
        assert response.status_code == 404 and response.json() == {"error": "DNC entry not found"}
    assert DncEntry.objects.filter(pk=foreign.pk).exists()


def test_get_one_entry(api, workspace) -> None:
    entry = DncEntryFactory(workspace=workspace, address="a@b.co", reason="opt_out", source_message_id="m" * 24)
    body = api.get(f"/api/dnc/{entry.pk}").json()
    assert body["entry"]["email"] == "a@b.co" and body["entry"]["sourceMessageId"] == "m" * 24


def test_dnc_add_service_is_idempotent_and_keeps_the_first_reason(workspace) -> None:
    first = dnc_add(workspace=workspace, address="+19042956129", reason="opt_out", source_message_id="abc")
    second = dnc_add(workspace=workspace, address="+19042956129", reason="manual")
    assert first.pk == second.pk and second.reason == "opt_out" and second.source_message_id == "abc"
    assert dnc_blocked_address(workspace_id=workspace.pk, addresses=["", "junk", "+19042956129"]) == "+19042956129"
    assert dnc_blocked_address(workspace_id=WorkspaceFactory().pk, addresses=["+19042956129"]) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("STOP", True), ("stop", True), (" Stop. ", True), ("unsubscribe!", True), ("opt out", True),
    ("Remove me", True), ("DO NOT CONTACT", True), ("please stop texting me", False), ("stopwatch", False),
    ("", False),
])
def test_is_opt_out(text, expected) -> None:
    assert is_opt_out(text) is expected


def test_past_due_workspace_reads_but_cannot_write(db) -> None:
    from tests.conftest import client_for
    from tuco.services import api_key_create

    workspace = WorkspaceFactory(billing_status="past_due")
    entry = DncEntryFactory(workspace=workspace)
    _, raw = api_key_create(workspace=workspace)
    client = client_for(raw)
    assert client.get("/api/dnc").status_code == 200
    assert client.post("/api/dnc", {"phone": "+12025550131"}, format="json").status_code == 402
    assert client.delete(f"/api/dnc/{entry.pk}").status_code == 402
    assert DncEntry.objects.count() == 1
