"""GET /api/leads (search, single, pagination, lists) and GET /api/leads/{id}: workspace-scoped reads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from tests.factories import LeadFactory, LeadListFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


def _get(api, url: str, status: int = 200) -> dict:
    response = api.get(url)
    assert response.status_code == status, response.content
    return response.json()


def test_single_lead_document(api, workspace) -> None:
    lead_list = LeadListFactory(workspace=workspace, name="Expo", description="booth")
    with time_machine.travel(datetime(2026, 3, 12, 22, 57, 0, 856000, tzinfo=UTC), tick=False):
        lead = LeadFactory(workspace=workspace, list=lead_list, first_name="Tuco test", last_name="", phone="",
                           email="t@example.com", alt_phone2="+12025550199", custom_fields={"tier": 2},
                           company_name="Acme", source="api")
    expected = {
        "_id": lead.pk, "firstName": "Tuco test", "lastName": None, "email": "t@example.com", "phone": None,
        "altPhone1": None, "altPhone2": "+12025550199", "altPhone3": None, "altEmail1": None, "altEmail2": None,
        "altEmail3": None, "companyName": "Acme", "jobTitle": None, "notes": None, "ghlContactId": None,
        "ghlLocationId": None, "hsPortalId": None, "hsContactId": None, "customFields": {"tier": 2}, "tags": [],
        "listId": lead_list.pk, "workspaceId": workspace.pk, "source": "api", "availabilityStatus": "unknown",
        "availabilityCheckedAt": None, "createdAt": "2026-03-12T22:57:00.856Z",
        "updatedAt": "2026-03-12T22:57:00.856Z",
    }
    assert _get(api, f"/api/leads?id={lead.pk}") == {"lead": expected}
    assert _get(api, f"/api/leads/{lead.pk}") == {"lead": expected}


# (A NUL is refused before any lookup: 400 INVALID_PARAMETER, tests/hardening/test_parameters.py.)
@pytest.mark.parametrize("lead_id", ["667f1f77bcf86cd799439012", "nope", "x" * 300, "🚀"])
def test_unknown_lead_is_404(api, lead_id) -> None:
    assert _get(api, f"/api/leads?id={lead_id}", 404) == {"error": "Lead not found"}
    assert _get(api, f"/api/leads/{lead_id}", 404) == {"error": "Lead not found"}


def test_another_workspaces_lead_is_404(api) -> None:
    foreign = LeadFactory(workspace=WorkspaceFactory())
    assert _get(api, f"/api/leads?id={foreign.pk}", 404) == {"error": "Lead not found"}
    assert _get(api, f"/api/leads/{foreign.pk}", 404) == {"error": "Lead not found"}


def test_search_and_lists_stay_in_the_workspace(api, workspace) -> None:
    mine = LeadListFactory(workspace=workspace, name="Mine")
    theirs = LeadListFactory(workspace=WorkspaceFactory(), name="Theirs")
    LeadFactory(workspace=workspace, list=mine, first_name="Ada")
    LeadFactory(workspace=theirs.workspace, list=theirs, first_name="Ada")
    body = _get(api, "/api/leads?search=ada")
    assert [lead["firstName"] for lead in body["leads"]] == ["Ada"]
    assert [(x["name"], x["leadCount"]) for x in body["lists"]] == [("Mine", 1)]
    assert body["lists"][0]["workspaceId"] == workspace.pk
    assert _get(api, f"/api/leads?listId={theirs.pk}")["leads"] == []


def test_search_matches_names_email_phone_company_case_insensitively(api, workspace) -> None:
    a = LeadFactory(workspace=workspace, first_name="Zed", last_name="Alpha", phone="+19042956129")
    b = LeadFactory(workspace=workspace, first_name="Q", email="hello@BIGCORP.io".lower())
    c = LeadFactory(workspace=workspace, first_name="R", company_name="BigCorp Inc")
    LeadFactory(workspace=workspace, first_name="Nobody", phone="+12025550000")

    def ids(query: str) -> set[str]:
        return {lead["_id"] for lead in _get(api, f"/api/leads?search={query}")["leads"]}

    assert ids("ALPHA") == {a.pk}
    assert ids("zed") == {a.pk}
    assert ids("bigcorp") == {b.pk, c.pk}
    assert ids("904") == {a.pk}
    assert ids("(904)%20295-6129") == {a.pk}
    assert ids("nothing-like-this") == set()


def test_pagination_newest_first(api, workspace) -> None:
    created = []
    for minute in range(5):
        with time_machine.travel(datetime(2026, 1, 1, 12, minute, tzinfo=UTC), tick=False):
            created.append(LeadFactory(workspace=workspace).pk)
    page1 = _get(api, "/api/leads?limit=2")
    assert [lead["_id"] for lead in page1["leads"]] == [created[4], created[3]]
    assert page1["pagination"] == {"page": 1, "limit": 2, "totalCount": 5, "totalPages": 3}
    page3 = _get(api, "/api/leads?limit=2&page=3")
    assert [lead["_id"] for lead in page3["leads"]] == [created[0]]
    assert _get(api, "/api/leads?limit=2&page=9")["leads"] == []
    default = _get(api, "/api/leads")
    assert default["pagination"] == {"page": 1, "limit": 50, "totalCount": 5, "totalPages": 1}


def test_empty_workspace(api) -> None:
    assert _get(api, "/api/leads") == {"leads": [], "lists": [],
                                       "pagination": {"page": 1, "limit": 50, "totalCount": 0, "totalPages": 0}}


@pytest.mark.parametrize(("query", "error"), [
    ("limit=0", "limit must be an integer between 1 and 100"),
    ("limit=101", "limit must be an integer between 1 and 100"),
    ("limit=abc", "limit must be an integer between 1 and 100"),
    ("limit=", "limit must be an integer between 1 and 100"),
    ("page=0", "page must be an integer between 1 and 1000000"),
    ("page=-1", "page must be an integer between 1 and 1000000"),
    ("page=99999999999999999999999", "page must be an integer between 1 and 1000000"),
    ("page=%C2%B2", "page must be an integer between 1 and 1000000"),
    ("listId=nope", "Invalid listId"),
    ("search=" + "x" * 201, "search must be at most 200 characters"),
])
def test_bad_query_parameters(api, query, error) -> None:
    assert _get(api, f"/api/leads?{query}", 400)["error"] == error


def test_search_with_emoji_is_not_an_error_nul_and_broken_utf8_are_refused(api, workspace) -> None:
    LeadFactory(workspace=workspace, first_name="🚀 Rocket")
    assert len(_get(api, "/api/leads?search=%F0%9F%9A%80")["leads"]) == 1
    # Issue 19: one rule for every parameter (tuco.request_params), where search used to drop the NUL.
    assert _get(api, "/api/leads?search=%00", 400) == {"error": "Query parameter 'search' contains a NUL character",
                                                       "code": "INVALID_PARAMETER"}
    assert _get(api, "/api/leads?search=%FF%FE", 400)["code"] == "INVALID_PARAMETER"


def test_leads_without_a_list_are_listed(api, workspace) -> None:
    lead = LeadFactory(workspace=workspace, list=None)
    body = _get(api, "/api/leads")
    assert body["leads"][0]["listId"] is None and body["leads"][0]["_id"] == lead.pk
