"""PATCH /api/leads/{id}, DELETE /api/leads/{id}, DELETE /api/leads {ids}: validation, conflicts, isolation."""

from __future__ import annotations

from typing import Any

import pytest

from leads.models import Lead
from tests.factories import LeadFactory, LeadListFactory, MessageFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


def _patch(api, lead_id: str, body: Any, status: int) -> dict[str, Any]:
    response = api.patch(f"/api/leads/{lead_id}", body, format="json")
    assert response.status_code == status, response.content
    return response.json()


def _snapshot(lead: Lead) -> dict[str, Any]:
    return {f.attname: getattr(Lead.objects.get(pk=lead.pk), f.attname) for f in Lead._meta.concrete_fields}


@pytest.fixture
def lead(workspace) -> Lead:
    return LeadFactory(workspace=workspace, list=LeadListFactory(workspace=workspace, name="Main"),
                       phone="+12025550120", email="lead@example.com", custom_fields={"a": 1, "b": 2})


def test_patch_updates_fields_and_normalizes(api, lead) -> None:
    before = Lead.objects.get(pk=lead.pk).updated_at
    body = _patch(api, lead.pk, {"firstName": " Grace ", "lastName": None, "phone": "(202) 555-0121",
                                 "altPhone1": "+44 20 7946 0958", "altEmail3": "ALT@EXAMPLE.COM",
                                 "companyName": "Navy", "jobTitle": "Admiral", "notes": "🚢",
                                 "customFields": {"b": None, "c": [1, 2]}}, 200)
    lead.refresh_from_db()
    assert (lead.first_name, lead.last_name, lead.phone, lead.alt_phone1, lead.alt_email3) == (
        "Grace", "", "+12025550121", "+442079460958", "alt@example.com")
    assert lead.custom_fields == {"a": 1, "c": [1, 2]}
    assert lead.updated_at > before
    assert body["lead"]["phone"] == "+12025550121" and body["lead"]["lastName"] is None
    assert body["lead"]["customFields"] == {"a": 1, "c": [1, 2]} and body["lead"]["notes"] == "🚢"


def test_patch_clears_custom_fields_and_accepts_its_own_document(api, lead) -> None:
    document = api.get(f"/api/leads/{lead.pk}").json()["lead"]
    document["customFields"] = None
    document["jobTitle"] = "Boss"
    body = _patch(api, lead.pk, document, 200)
    assert body["lead"]["customFields"] == {} and body["lead"]["jobTitle"] == "Boss"


def test_patch_ignores_unknown_fields_and_names_them(api, lead) -> None:
    body = _patch(api, lead.pk, {"firstName": "Ana", "fristName": "typo", "shoeSize": 44}, 200)
    assert body["lead"]["firstName"] == "Ana" and body["ignoredFields"] == ["fristName", "shoeSize"]
    assert "ignoredFields" not in _patch(api, lead.pk, {"firstName": "Ana"}, 200)


def test_patch_moves_to_another_list(api, workspace, lead) -> None:
    target = LeadListFactory(workspace=workspace, name="Target")
    assert _patch(api, lead.pk, {"listId": target.pk}, 200)["lead"]["listId"] == target.pk


@pytest.mark.parametrize(("body", "error", "code"), [
    ({}, "No fields to update", "VALIDATION_ERROR"),
    ({"_id": "x", "createdAt": "y"}, "No fields to update", "VALIDATION_ERROR"),
    ([1], "Request body must be a JSON object", "INVALID_BODY"),
    ({"nickname": "x"}, "No fields to update (unknown: nickname)", "VALIDATION_ERROR"),
    ({"phone": "12"}, "Invalid phone: '12' is not a valid phone number", "INVALID_PHONE"),
    ({"email": "nope"}, "Invalid email: 'nope' is not a valid email address", "INVALID_EMAIL"),
    ({"firstName": 5}, "firstName must be a string", "VALIDATION_ERROR"),
    ({"notes": "x" * 10_001}, "notes must be at most 10000 characters", "VALIDATION_ERROR"),
    ({"customFields": []}, "customFields must be an object", "VALIDATION_ERROR"),
    ({"phone": None, "email": ""}, "Lead must have a phone or an email", "VALIDATION_ERROR"),
    ({"listId": "nope"}, "Invalid listId", "INVALID_ID"),
    ({"phone": "+12025550199", "defaultCountryCode": "Mars"},
     "Invalid defaultCountryCode: use a calling code like +1 or +44", "INVALID_COUNTRY_CODE"),
])
def test_patch_validation_changes_nothing(api, lead, body, error, code) -> None:
    before = _snapshot(lead)
    assert _patch(api, lead.pk, body, 400) == {"error": error, "code": code}
    assert _snapshot(lead) == before


def test_patch_into_unknown_or_foreign_list_is_404(api, lead) -> None:
    before = _snapshot(lead)
    for list_id in ("667f1f77bcf86cd799439012", LeadListFactory(workspace=WorkspaceFactory()).pk):
        assert _patch(api, lead.pk, {"listId": list_id, "firstName": "x"}, 404) == {
            "error": "List not found", "code": "LIST_NOT_FOUND"}
    assert _snapshot(lead) == before


def test_patch_conflict_with_another_lead_of_the_list_is_409(api, workspace, lead) -> None:
    other = LeadFactory(workspace=workspace, list=lead.list, phone="+12025550122", email="other@example.com")
    before = _snapshot(lead)
    assert _patch(api, lead.pk, {"phone": "+12025550122"}, 409) == {
        "error": "Another lead in this list already has this phone", "code": "DUPLICATE_LEAD",
        "existingLeadId": other.pk}
    assert _patch(api, lead.pk, {"email": "OTHER@example.com", "firstName": "x"}, 409) == {
        "error": "Another lead in this list already has this email", "code": "DUPLICATE_LEAD",
        "existingLeadId": other.pk}
    assert _snapshot(lead) == before
    # Moving into a list that already holds the phone conflicts too.
    target = LeadListFactory(workspace=workspace, name="T")
    clash = LeadFactory(workspace=workspace, list=target, phone=lead.phone)
    assert _patch(api, lead.pk, {"listId": target.pk}, 409)["existingLeadId"] == clash.pk


def test_patch_foreign_or_unknown_lead_is_404_even_with_a_bad_body(api) -> None:
    foreign = LeadFactory(workspace=WorkspaceFactory())
    before = _snapshot(foreign)
    assert _patch(api, foreign.pk, {"firstName": "hijack"}, 404) == {"error": "Lead not found"}
    assert _patch(api, foreign.pk, {"firstName": 5}, 404) == {"error": "Lead not found"}
    assert _patch(api, "667f1f77bcf86cd799439012", {"firstName": "x"}, 404) == {"error": "Lead not found"}
    assert _snapshot(foreign) == before


def test_delete_one(api, workspace, lead) -> None:
    message = MessageFactory(workspace=workspace, lead=lead)
    response = api.delete(f"/api/leads/{lead.pk}")
    assert response.status_code == 200 and response.json() == {"deletedCount": 1}
    assert not Lead.objects.filter(pk=lead.pk).exists()
    message.refresh_from_db()
    assert message.lead_id is None  # the message history stays
    again = api.delete(f"/api/leads/{lead.pk}")
    assert again.status_code == 404 and again.json() == {"error": "Lead not found"}


def test_delete_foreign_lead_is_404(api) -> None:
    foreign = LeadFactory(workspace=WorkspaceFactory())
    assert api.delete(f"/api/leads/{foreign.pk}").status_code == 404
    assert Lead.objects.filter(pk=foreign.pk).exists()


def test_bulk_delete_ignores_other_workspaces(api, workspace) -> None:
    mine = [LeadFactory(workspace=workspace) for _ in range(3)]
    foreign = LeadFactory(workspace=WorkspaceFactory())
    ids = [mine[0].pk, mine[1].pk, foreign.pk, "667f1f77bcf86cd799439012", mine[0].pk]
    response = api.delete("/api/leads", {"ids": ids}, format="json")
    assert response.status_code == 200 and response.json() == {"deletedCount": 2}
    assert set(Lead.objects.values_list("pk", flat=True)) == {mine[2].pk, foreign.pk}
    # Lists recount.
    assert api.get("/api/leads").json()["pagination"]["totalCount"] == 1


def test_bulk_delete_by_query_string(api, workspace) -> None:
    a, b, c = (LeadFactory(workspace=workspace) for _ in range(3))
    assert api.delete(f"/api/leads?id={a.pk}").json() == {"deletedCount": 1}
    assert api.delete(f"/api/leads?ids={b.pk},{c.pk}").json() == {"deletedCount": 2}
    assert Lead.objects.count() == 0


@pytest.mark.parametrize(("body", "error"), [
    (None, "ids is required: a non-empty array of lead ids"),
    ({}, "ids is required: a non-empty array of lead ids"),
    ({"ids": []}, "ids is required: a non-empty array of lead ids"),
    ({"ids": None}, "ids is required: a non-empty array of lead ids"),
    ({"ids": "abc"}, "ids must be an array of lead ids"),
    ({"ids": ["nope"]}, "Invalid lead id: 'nope'"),
    ({"ids": [5]}, "Invalid lead id: 5"),
    ({"ids": ["667f1f77bcf86cd799439012"] * 1001}, "At most 1000 ids per request"),
])
def test_bulk_delete_validation_deletes_nothing(api, workspace, body, error) -> None:
    lead = LeadFactory(workspace=workspace)
    response = api.delete("/api/leads", body, format="json") if body is not None else api.delete("/api/leads")
    assert response.status_code == 400 and response.json()["error"] == error
    assert Lead.objects.filter(pk=lead.pk).exists()


def test_bulk_delete_with_one_malformed_id_deletes_nothing(api, workspace) -> None:
    lead = LeadFactory(workspace=workspace)
    response = api.delete("/api/leads", {"ids": [lead.pk, "bad"]}, format="json")
    assert response.status_code == 400
    assert Lead.objects.filter(pk=lead.pk).exists()


def test_past_due_workspace_cannot_write(db) -> None:
    from tests.conftest import client_for
    from tuco.services import api_key_create

    workspace = WorkspaceFactory(billing_status="past_due")
    lead = LeadFactory(workspace=workspace)
    _, raw = api_key_create(workspace=workspace)
    client = client_for(raw)
    assert client.patch(f"/api/leads/{lead.pk}", {"firstName": "x"}, format="json").status_code == 402
    assert client.delete(f"/api/leads/{lead.pk}").status_code == 402
    assert client.delete("/api/leads", {"ids": [lead.pk]}, format="json").status_code == 402
    assert client.get(f"/api/leads/{lead.pk}").status_code == 200
    assert Lead.objects.filter(pk=lead.pk, first_name="Jane").exists()


@pytest.mark.parametrize("query", ["ids=", "id=", "ids=%s,", "id=nope&ids=%s"])
def test_bulk_delete_bad_query_deletes_nothing(api, workspace, query) -> None:
    lead = LeadFactory(workspace=workspace)
    response = api.delete("/api/leads?" + query.replace("%s", lead.pk))
    assert response.status_code == 400
    assert Lead.objects.filter(pk=lead.pk).exists()


def test_crm_links_are_set_by_create_patch_and_csv(api, workspace) -> None:
    created = api.post("/api/leads", {"phone": "+12025550931", "ghlContactId": "ghl-1", "hsPortalId": "77"},
                       format="json")
    assert created.status_code in (200, 201), created.content
    lead = Lead.objects.get(phone="+12025550931")
    assert (lead.ghl_contact_id, lead.hs_portal_id) == ("ghl-1", "77")
    body = _patch(api, lead.pk, {"hsContactId": "hs-9", "ghlContactId": None}, 200)
    assert body["lead"]["hsContactId"] == "hs-9" and body["lead"]["ghlContactId"] is None
    csv = b"phone,GHL Contact ID,HubSpot Contact ID\n+12025550932,ghl-2,hs-2\n"
    from django.core.files.uploadedfile import SimpleUploadedFile

    imported = api.post("/api/leads/import", {"file": SimpleUploadedFile("leads.csv", csv, "text/csv")},
                        format="multipart")
    assert imported.status_code in (200, 201), imported.content
    row = Lead.objects.get(phone="+12025550932")
    assert (row.ghl_contact_id, row.hs_contact_id) == ("ghl-2", "hs-2")
