"""GET/POST /api/lists."""

from __future__ import annotations

import pytest

from leads.models import LeadList
from tests.factories import LeadFactory, LeadListFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


def test_create_and_list_with_counts(api, workspace) -> None:
    response = api.post("/api/lists", {"name": " Expo 2026 ", "description": "Booth scans"}, format="json")
    assert response.status_code == 201, response.content
    created = response.json()["list"]
    assert created["name"] == "Expo 2026" and created["description"] == "Booth scans"
    assert created["leadCount"] == 0 and created["workspaceId"] == workspace.pk
    lead_list = LeadList.objects.get(pk=created["_id"])
    LeadFactory(workspace=workspace, list=lead_list)
    LeadFactory(workspace=workspace, list=lead_list)
    LeadListFactory(workspace=WorkspaceFactory(), name="Foreign")
    lists = api.get("/api/lists").json()["lists"]
    assert [(x["_id"], x["name"], x["leadCount"]) for x in lists] == [(lead_list.pk, "Expo 2026", 2)]


def test_duplicate_name_is_409_with_the_existing_id(api, workspace) -> None:
    existing = LeadListFactory(workspace=workspace, name="Expo")
    response = api.post("/api/lists", {"name": "Expo"}, format="json")
    assert response.status_code == 409
    assert response.json() == {"error": "A list named 'Expo' already exists", "code": "LIST_EXISTS",
                                "listId": existing.pk}
    assert LeadList.objects.count() == 1
    # The same name in another workspace is fine.
    LeadListFactory(workspace=WorkspaceFactory(), name="Other")
    assert api.post("/api/lists", {"name": "Other"}, format="json").status_code == 201


@pytest.mark.parametrize(("body", "error"), [
    ({}, "name is required"),
    ({"name": "   "}, "name is required"),
    ({"name": 5}, "name is required"),
    ({"name": "x" * 201}, "name must be at most 200 characters"),
    ({"name": "ok", "description": 5}, "description must be a string of at most 500 characters"),
    ({"name": "ok", "description": "x" * 501}, "description must be a string of at most 500 characters"),
    (["x"], "Request body must be a JSON object"),
])
def test_create_validation(api, body, error) -> None:
    response = api.post("/api/lists", body, format="json")
    assert response.status_code == 400 and response.json()["error"] == error
    assert LeadList.objects.count() == 0
