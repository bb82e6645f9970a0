"""The campaigns API: validation (400, nothing written), workspace scoping (404), lifecycle conflicts (409), and
POST /api/campaigns/{id}/leads exactly as the reference page answers it."""

from __future__ import annotations

import pytest

from campaigns.models import Campaign, Enrollment, Step
from leads.models import Lead
from messaging.send.dispatcher import send_message
from tests.campaigns.conftest import create_campaign, launch, send_all, step_messages, sweep
from tests.conftest import client_for
from tests.factories import LeadFactory, LeadListFactory, LineFactory, WorkspaceFactory
from tuco.services import api_key_create

pytestmark = pytest.mark.django_db

OTHER_ID = "0123456789abcdef01234567"


def _rows() -> tuple[int, int, int]:
    return Campaign.objects.count(), Step.objects.count(), Enrollment.objects.count()


def test_create_get_list_and_the_document(api, lines) -> None:
    doc = create_campaign(api, lineIds=[lines[0].pk], timezone="America/New_York", sendWindowStart="09:00",
                          sendWindowEnd="17:00", allowedDaysOfWeek=[1, 2, 3, 4, 5], replyBehavior="continue",
                          steps=[{"message": "Hi {firstName}"},
                                 {"message": "Following up, {firstName|there}", "wait": {"value": 2, "unit": "days"},
                                  "onlyIfNoReply": True,
                                  "stopConditions": [{"type": "replied_keyword", "keywords": ["Not Interested"]},
                                                     {"type": "has_tag", "tag": "Customer"}]}])
    assert doc["status"] == "draft" and doc["apiOnly"] is True and doc["lineIds"] == [lines[0].pk]
    assert doc["replyBehavior"] == "continue" and doc["allowedDaysOfWeek"] == [1, 2, 3, 4, 5]
    assert [s["waitSeconds"] for s in doc["steps"]] == [0, 2 * 86400]
    assert doc["steps"][1]["stopConditions"] == [{"type": "replied_keyword", "keywords": ["not interested"]},
                                                 {"type": "has_tag", "tag": "customer"}]
    got = api.get(f"/api/campaigns/{doc['_id']}").json()["campaign"]
    assert got == doc
    listed = api.get("/api/campaigns").json()
    assert [c["_id"] for c in listed["campaigns"]] == [doc["_id"]] and listed["nextCursor"] is None
    assert api.get("/api/campaigns?status=active").json()["campaigns"] == []


@pytest.mark.parametrize(("body", "code", "needle"), [
    ({"steps": [{"message": "Hi"}]}, "VALIDATION_ERROR", "name is required"),
    ({"name": "x", "steps": []}, "VALIDATION_ERROR", "steps must be a non-empty array"),
    ({"name": "x", "steps": [{"message": "Hi {first_name}"}]}, "UNKNOWN_VARIABLE", "first_name"),
    ({"name": "x", "steps": [{"message": "Hi {{nickname|you}}"}]}, "UNKNOWN_VARIABLE", "nickname"),
    ({"name": "x", "steps": [{"message": "Hi", "waitSeconds": 60}]}, "VALIDATION_ERROR", "steps[0] has no wait"),
    ({"name": "x", "steps": [{"message": "Hi"}, {"message": "Again", "wait": {"value": 1, "unit": "weeks"}}]},
     "VALIDATION_ERROR", "steps[1].wait"),
    ({"name": "x", "steps": [{"message": "Hi", "stopConditions": [{"type": "hubspot"}]}]}, "VALIDATION_ERROR",
     "unknown condition"),
    ({"name": "x", "steps": [{"message": "Hi", "stopConditions": [{"type": "replied_keyword"}]}]},
     "VALIDATION_ERROR", "needs keywords"),
    ({"name": "x", "steps": [{"message": "Hi", "channel": "fax"}]}, "VALIDATION_ERROR", "channel"),
    ({"name": "x", "steps": [{"message": "Hi"}], "timezone": "Mars/Olympus"}, "INVALID_TIMEZONE", "IANA"),
    ({"name": "x", "steps": [{"message": "Hi"}], "sendWindowStart": "09:00", "sendWindowEnd": "17:00"},
     "TIMEZONE_REQUIRED", "timezone is required"),
    ({"name": "x", "steps": [{"message": "Hi"}], "replyBehavior": "pause"}, "VALIDATION_ERROR", "replyBehavior"),
    ({"name": "x", "steps": [{"message": "Hi"}], "lineIds": ["nope"]}, "INVALID_ID", "lineIds"),
])
def test_a_bad_campaign_is_a_400_and_writes_nothing(api, lines, body, code, needle) -> None:
    before = _rows()
    response = api.post("/api/campaigns", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == code and needle in response.json()["error"], response.json()
    assert _rows() == before


def test_lines_and_lists_of_another_workspace_are_404_and_write_nothing(api, lines) -> None:
    other = WorkspaceFactory()
    foreign_line, foreign_list = LineFactory(workspace=other), LeadListFactory(workspace=other)
    for extra, code in (({"lineIds": [foreign_line.pk]}, "LINE_NOT_FOUND"), ({"listId": foreign_list.pk},
                                                                             "LIST_NOT_FOUND")):
        response = api.post("/api/campaigns", {"name": "x", "steps": [{"message": "Hi"}], **extra}, format="json")
        assert response.status_code == 404 and response.json()["code"] == code
    assert _rows() == (0, 0, 0)


def test_another_workspaces_campaign_answers_404_everywhere(api, lines) -> None:
    other = WorkspaceFactory()
    LineFactory(workspace=other)
    _, other_key = api_key_create(workspace=other)
    theirs = create_campaign(client_for(other_key))
    for method, suffix in (("get", ""), ("patch", ""), ("delete", ""), ("post", "/launch"), ("post", "/pause"),
                           ("post", "/resume"), ("get", "/stats"), ("get", "/recipients"), ("post", "/leads")):
        response = getattr(api, method)(f"/api/campaigns/{theirs['_id']}{suffix}", {"leadId": OTHER_ID},
                                        format="json")
        assert response.status_code == 404, (method, suffix, response.content)
        assert response.json() == {"error": "Campaign not found", "code": "CAMPAIGN_NOT_FOUND"}
    assert Campaign.objects.get(pk=theirs["_id"]).status == "draft"


def test_patch_replaces_steps_and_an_archived_campaign_cannot_change(api, lines, workspace, relays) -> None:
    doc = create_campaign(api)
    patched = api.patch(f"/api/campaigns/{doc['_id']}", {"name": "Renamed", "steps": [
        {"message": "One"}, {"message": "Two", "waitSeconds": 3600}]}, format="json").json()["campaign"]
    assert patched["name"] == "Renamed" and [s["message"] for s in patched["steps"]] == ["One", "Two"]
    bad = api.patch(f"/api/campaigns/{doc['_id']}", {"steps": [{"message": "{bogus}"}]}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "UNKNOWN_VARIABLE"
    assert [s.body for s in Step.objects.filter(campaign_id=doc["_id"])] == ["One", "Two"]
    # Delete: a campaign without messages goes; one with messages is archived (they stay reportable).
    gone = create_campaign(api)
    assert api.delete(f"/api/campaigns/{gone['_id']}").json()["result"] == "deleted"
    assert not Campaign.objects.filter(pk=gone["_id"]).exists()
    launch(api, doc["_id"])
    lead = LeadFactory(workspace=workspace)
    api.post(f"/api/campaigns/{doc['_id']}/leads", {"leadId": lead.pk}, format="json")
    sweep()
    assert api.delete(f"/api/campaigns/{doc['_id']}").json()["result"] == "archived"
    assert Campaign.objects.get(pk=doc["_id"]).status == "archived"
    # Nothing more goes out: the created step message is cancelled and its lead stopped.
    [message] = step_messages(doc["_id"])
    message.refresh_from_db()
    assert message.status == "cancelled"
    assert Enrollment.objects.get(campaign_id=doc["_id"]).stop_reason == "cancelled"
    conflict = api.patch(f"/api/campaigns/{doc['_id']}", {"name": "Again"}, format="json")
    assert conflict.status_code == 409 and conflict.json()["code"] == "CAMPAIGN_ARCHIVED"


def test_lifecycle_conflicts_are_409(api, lines) -> None:
    doc = create_campaign(api)
    for action, code in (("pause", "CAMPAIGN_NOT_ACTIVE"), ("resume", "CAMPAIGN_NOT_PAUSED")):
        response = api.post(f"/api/campaigns/{doc['_id']}/{action}")
        assert response.status_code == 409 and response.json()["code"] == code
    launch(api, doc["_id"])
    again = api.post(f"/api/campaigns/{doc['_id']}/launch")
    assert again.status_code == 409 and again.json()["code"] == "CAMPAIGN_NOT_DRAFT"
    assert api.post(f"/api/campaigns/{doc['_id']}/pause").json()["campaign"]["status"] == "paused"
    assert api.post(f"/api/campaigns/{doc['_id']}/resume").json()["campaign"]["status"] == "active"


# --- POST /api/campaigns/{id}/leads ---------------------------------------------------------------------

def test_add_an_existing_lead_then_again(api, lines, workspace) -> None:
    doc = create_campaign(api, steps=[{"message": "A"}, {"message": "B", "waitSeconds": 60},
                                      {"message": "C", "waitSeconds": 60}])
    lead = LeadFactory(workspace=workspace, ghl_contact_id="ghl-7", hs_portal_id="hs-1")
    first = api.post(f"/api/campaigns/{doc['_id']}/leads", {"leadId": lead.pk}, format="json")
    assert first.status_code == 200
    assert first.json() == {"success": True, "leadId": lead.pk, "campaignId": doc["_id"], "messageCount": 3,
                            "message": "Lead added to campaign and sequence started", "ghlContactId": "ghl-7",
                            "ghlLocationId": None, "hsPortalId": "hs-1", "hsContactId": None}
    second = api.post(f"/api/campaigns/{doc['_id']}/leads", {"leadId": lead.pk}, format="json")
    assert second.status_code == 200
    assert second.json() == {"success": True, "leadId": lead.pk, "campaignId": doc["_id"], "messageCount": 0,
                             "message": "Lead already in campaign (re-entry not allowed).",
                             "alreadyInCampaign": True, "existingLeadIds": [lead.pk], "ghlContactId": "ghl-7",
                             "ghlLocationId": None, "hsPortalId": "hs-1", "hsContactId": None}
    assert Enrollment.objects.filter(campaign_id=doc["_id"]).count() == 1


def test_add_a_new_lead_by_its_fields_reuses_the_workspace_lead_with_that_phone(api, lines, workspace) -> None:
    doc = create_campaign(api)
    added = api.post(f"/api/campaigns/{doc['_id']}/leads", {"lead": {
        "firstName": "Ada", "lastName": "Lovelace", "phone": "(202) 555-0142", "email": "ADA@example.com",
        "companyName": "Engines", "jobTitle": "Analyst"}}, format="json").json()
    lead = Lead.objects.get(pk=added["leadId"])
    assert (lead.first_name, lead.phone, lead.email, lead.company_name) == ("Ada", "+12025550142",
                                                                            "ada@example.com", "Engines")
    other = create_campaign(api, name="Second")
    again = api.post(f"/api/campaigns/{other['_id']}/leads", {"lead": {"phone": "+12025550142"}}, format="json")
    assert again.json()["leadId"] == lead.pk and Lead.objects.filter(workspace=workspace).count() == 1


@pytest.mark.parametrize(("body", "status", "code"), [
    ({}, 400, "VALIDATION_ERROR"),
    ({"leadId": "nope"}, 400, "INVALID_ID"),
    ({"leadId": OTHER_ID}, 404, None),
    ({"lead": {"firstName": "No contact"}}, 400, "VALIDATION_ERROR"),
    ({"lead": {"phone": "not a phone"}}, 400, "VALIDATION_ERROR"),
    ({"lead": "Ada"}, 400, "VALIDATION_ERROR"),
    ({"leadId": OTHER_ID, "lead": {"phone": "+12025550100"}}, 400, "VALIDATION_ERROR"),
    ({"leadIds": OTHER_ID}, 400, "VALIDATION_ERROR"),
    ({"leadIds": []}, 400, "VALIDATION_ERROR"),
    ({"leadIds": [OTHER_ID] * 1001}, 400, "VALIDATION_ERROR"),
    ({"listId": OTHER_ID}, 404, "LIST_NOT_FOUND"),
])
def test_bad_adds_change_nothing(api, lines, body, status, code) -> None:
    doc = create_campaign(api)
    leads_before = Lead.objects.count()
    response = api.post(f"/api/campaigns/{doc['_id']}/leads", body, format="json")
    assert response.status_code == status, response.content
    assert "error" in response.json() and (code is None or response.json()["code"] == code)
    assert Enrollment.objects.count() == 0 and Lead.objects.count() == leads_before


def test_a_lead_of_another_workspace_is_not_found(api, lines) -> None:
    doc = create_campaign(api)
    foreign = LeadFactory(workspace=WorkspaceFactory())
    response = api.post(f"/api/campaigns/{doc['_id']}/leads", {"leadId": foreign.pk}, format="json")
    assert response.status_code == 404 and response.json()["error"] == "Lead not found or access denied"
    assert Enrollment.objects.count() == 0


def test_bulk_adds_answer_counts(api, lines, workspace) -> None:
    doc = create_campaign(api)
    lead_list = LeadListFactory(workspace=workspace)
    listed = [LeadFactory(workspace=workspace, list=lead_list) for _ in range(3)]
    loose = LeadFactory(workspace=workspace)
    foreign = LeadFactory(workspace=WorkspaceFactory())
    by_ids = api.post(f"/api/campaigns/{doc['_id']}/leads",
                      {"leadIds": [listed[0].pk, loose.pk, foreign.pk, loose.pk]}, format="json").json()
    assert by_ids == {"success": True, "campaignId": doc["_id"], "requested": 3, "enrolled": 2,
                      "alreadyInCampaign": 0, "notFound": 1}
    by_list = api.post(f"/api/campaigns/{doc['_id']}/leads", {"listId": lead_list.pk}, format="json").json()
    assert (by_list["enrolled"], by_list["alreadyInCampaign"]) == (2, 1)
    ids = set(Enrollment.objects.filter(campaign_id=doc["_id"]).values_list("lead_id", flat=True))
    assert ids == {lead.pk for lead in listed} | {loose.pk}
    assert all(len(pk) == 24 for pk in Enrollment.objects.values_list("id", flat=True))


def test_launch_enrolls_the_list_and_campaign_sends_ignore_the_send_rate_limit(api, lines, workspace, relays,
                                                                              settings) -> None:
    settings.TUCO_RATE_LIMITS_ENABLED = True
    workspace.rate_limits = {"send": 1}
    workspace.save()
    single = api.post("/api/messages", {"message": "x", "recipientPhone": "+12025550999"}, format="json")
    assert single.status_code == 201
    assert send_message(single.json()["message"]["_id"]) == "sent"
    assert api.post("/api/messages", {"message": "y", "recipientPhone": "+12025550998"}, format="json").status_code \
        == 429
    lead_list = LeadListFactory(workspace=workspace)
    leads = [LeadFactory(workspace=workspace, list=lead_list) for _ in range(4)]
    doc = create_campaign(api, listId=lead_list.pk)
    assert Enrollment.objects.count() == 0  # a draft enrolls nobody
    launch(api, doc["_id"])
    assert Enrollment.objects.filter(campaign_id=doc["_id"]).count() == 4
    assert sweep()["created"] == 4
    assert sorted(send_all(doc["_id"])) == ["sent"] * 4
    assert {m.lead_id for m in step_messages(doc["_id"], 0)} == {lead.pk for lead in leads}
