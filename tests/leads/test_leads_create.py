"""POST /api/leads: shapes from the reference, dedup within a list, skipped rows, nothing written on 400s."""

from __future__ import annotations

from typing import Any

import pytest

from leads.models import Lead, LeadList
from tests.conftest import client_for
from tests.factories import LeadFactory, LeadListFactory, WorkspaceFactory
from tuco.services import api_key_create

pytestmark = pytest.mark.django_db

NO_LEADS = "leads is required: an array of leads, a lead object, or the lead's fields"


def _post(api, body: Any, status: int) -> dict[str, Any]:
    response = api.post("/api/leads", body, format="json")
    assert response.status_code == status, response.content
    return response.json()


def _counts() -> tuple[int, int]:
    return Lead.objects.count(), LeadList.objects.count()


def test_single_lead_goes_to_quick_sends(api, workspace) -> None:
    body = _post(api, {"leads": [{"firstName": "Ada", "lastName": "Lovelace", "email": "ADA@Example.com",
                                  "phone": "(202) 555-0143", "companyName": "Engines", "jobTitle": "CTO",
                                  "notes": "met at expo", "customFields": {"industry": "Technology"}}]}, 201)
    lead = Lead.objects.get()
    assert lead.list.name == "Quick Sends" and lead.list.description == "Quick send messages"
    assert (lead.phone, lead.email, lead.source) == ("+12025550143", "ada@example.com", "api")
    assert lead.custom_fields == {"industry": "Technology"}
    assert body == {
        "message": "Leads saved successfully", "savedCount": 1, "duplicateCount": 0, "invalidCount": 0,
        "totalProcessed": 1, "listId": lead.list_id, "leadId": lead.pk, "leadIds": [lead.pk],
        "existingLeadIds": [], "duplicateOnly": False, "duplicates": [], "errors": [],
    }


@pytest.mark.parametrize("shape", ["lead", "top", "body-array", "body-object"])
def test_single_lead_shapes(api, shape) -> None:
    fields = {"firstName": "Bo", "phone": "+12025550100"}
    body = {"lead": {"lead": fields}, "top": fields, "body-array": {"body": [fields]},
            "body-object": {"body": fields}}[shape]
    result = _post(api, body, 201)
    assert result["savedCount"] == 1
    assert Lead.objects.get().first_name == "Bo"


def test_all_duplicates_answer_200_with_existing_ids(api, workspace) -> None:
    first = _post(api, {"leads": [{"firstName": "A", "lastName": "B", "email": "a@b.co", "phone": "+12025550101"}]},
                  201)
    again = {"firstName": "A2", "lastName": "B2", "email": "a@b.co", "phone": "+12025550101"}
    body = _post(api, {"leads": [again]}, 200)
    lead_id = first["leadId"]
    assert body == {
        "message": "Lead was a duplicate; existing lead ID returned.", "savedCount": 0, "duplicateCount": 1,
        "invalidCount": 0, "totalProcessed": 1, "listId": first["listId"], "leadId": lead_id,
        "leadIds": [lead_id], "existingLeadIds": [lead_id], "duplicateOnly": True,
        "duplicates": [{"input": again, "existingLead": {"_id": lead_id, "firstName": "A", "lastName": "B",
                                                         "email": "a@b.co", "phone": "+12025550101"}}],
        "errors": [],
    }
    assert Lead.objects.count() == 1 and Lead.objects.get().first_name == "A"


def test_dedup_by_phone_or_email_within_the_list_only(api, workspace) -> None:
    other = LeadListFactory(workspace=workspace, name="Other")
    existing = LeadFactory(workspace=workspace, list=other, phone="+12025550102", email="x@y.co")
    body = _post(api, {"listId": other.pk, "leads": [
        {"phone": "202-555-0102"},            # same phone, national format
        {"email": "X@Y.CO"},                  # same email, other case
        {"phone": "+12025550103", "email": "new@y.co"},
        {"phone": "+12025550103"},            # duplicate of the row before, within one request
    ]}, 201)
    assert body["savedCount"] == 1 and body["duplicateCount"] == 3 and body["totalProcessed"] == 4
    new = Lead.objects.get(phone="+12025550103")
    assert body["leadIds"] == [existing.pk, existing.pk, new.pk, new.pk]
    assert body["existingLeadIds"] == [existing.pk, existing.pk, new.pk]
    assert body["leadId"] == existing.pk and body["duplicateOnly"] is False
    # The same contact in another list is a new lead there.
    again = _post(api, {"leads": [{"phone": "+12025550102"}]}, 201)
    assert again["savedCount"] == 1 and again["listId"] != other.pk
    assert Lead.objects.filter(phone="+12025550102").count() == 2


def test_list_name_is_created_on_first_use_and_reused(api, workspace) -> None:
    first = _post(api, {"listName": "Expo 2026", "leads": [{"phone": "+12025550104"}]}, 201)
    second = _post(api, {"listName": "Expo 2026", "leads": [{"phone": "+12025550105"}]}, 201)
    assert first["listId"] == second["listId"] == LeadList.objects.get(name="Expo 2026").pk
    assert LeadList.objects.filter(workspace=workspace).count() == 1


def test_source_and_default_country_code(api) -> None:
    _post(api, {"source": "hubspot", "defaultCountryCode": "+44", "leads": [{"phone": "020 7946 0958"}]}, 201)
    lead = Lead.objects.get()
    assert (lead.phone, lead.source) == ("+442079460958", "hubspot")


def test_alt_contacts_are_normalized(api) -> None:
    _post(api, {"leads": [{"phone": "+12025550106", "altPhone1": "2025550107", "altPhone3": "+1 202 555 0108",
                           "altEmail2": " Alt@Example.COM "}]}, 201)
    lead = Lead.objects.get()
    assert (lead.alt_phone1, lead.alt_phone2, lead.alt_phone3) == ("+12025550107", "", "+12025550108")
    assert lead.alt_email2 == "alt@example.com"


def test_invalid_rows_are_skipped_and_reported(api) -> None:
    body = _post(api, {"leads": [
        {"firstName": "ok", "phone": "+12025550109"},
        {"firstName": "bad phone", "phone": "12"},
        {"firstName": "no contact"},
        {"email": "not-an-email"},
        {"phone": "+12025550110", "altEmail1": "nope"},
    ]}, 201)
    assert body["savedCount"] == 1 and body["invalidCount"] == 4 and body["totalProcessed"] == 5
    assert body["errors"] == [
        {"index": 1, "error": "Invalid phone: '12' is not a valid phone number"},
        {"index": 2, "error": "Lead must have a phone or an email"},
        {"index": 3, "error": "Invalid email: 'not-an-email' is not a valid email address"},
        {"index": 4, "error": "Invalid altEmail1: 'nope' is not a valid email address"},
    ]
    assert list(Lead.objects.values_list("first_name", flat=True)) == ["ok"]


def test_only_invalid_rows_is_400_and_creates_no_list(api) -> None:
    assert _post(api, {"listName": "Never", "leads": [{"phone": "12"}]}, 400) == {
        "error": "Invalid phone: '12' is not a valid phone number", "code": "INVALID_LEADS", "invalidCount": 1,
        "errors": [{"index": 0, "error": "Invalid phone: '12' is not a valid phone number"}]}
    body = _post(api, {"leads": [{"phone": "12"}, {"firstName": "x"}]}, 400)
    assert body["error"] == "No valid leads: all 2 were invalid" and body["invalidCount"] == 2
    assert _counts() == (0, 0)


@pytest.mark.parametrize(("body", "error"), [
    ([{"phone": "+12025550111"}], "Request body must be a JSON object"),
    ("just text", "Request body must be a JSON object"),
    ({}, NO_LEADS),
    ({"listId": "667f1f77bcf86cd799439012"}, NO_LEADS),
    ({"leads": []}, "leads must contain at least one lead"),
    ({"leads": {"phone": "+12025550111"}}, "leads must be an array of leads"),
    ({"leads": "x"}, "leads must be an array of leads"),
    ({"leads": [{"phone": "+12025550111"}, "x"]}, "leads[1] must be an object"),
    ({"leads": [{"phone": "+12025550111"}, {"phone": 2025550111}]}, "leads[1].phone must be a string"),
    ({"leads": [{"phone": "+12025550111", "firstName": ["a"]}]}, "leads[0].firstName must be a string"),
    ({"leads": [{"phone": "+12025550111", "firstName": "x" * 201}]},
     "leads[0].firstName must be at most 200 characters"),
    ({"leads": [{"phone": "+12025550111", "customFields": "x"}]}, "leads[0].customFields must be an object"),
    ({"lead": "x"}, "lead must be an object"),
    ({"phone": 5}, "phone must be a string"),
    ({"leads": [{"phone": "+12025550111"}], "body": [{"phone": "+12025550112"}]},
     "Send only one of leads, body or lead (got leads, body)"),
    ({"leads": [{"phone": "+12025550111"}], "listId": "nope"}, "Invalid listId"),
    ({"leads": [{"phone": "+12025550111"}], "listId": 7}, "Invalid listId"),
    ({"leads": [{"phone": "+12025550111"}], "listName": "x" * 201},
     "listName must be a string of at most 200 characters"),
    ({"leads": [{"phone": "+12025550111"}], "source": 3}, "source must be a string of at most 50 characters"),
    ({"leads": [{"phone": "+12025550111"}], "defaultCountryCode": "+999"},
     "Invalid defaultCountryCode: use a calling code like +1 or +44"),
    ({"leads": [{"phone": "+12025550111"}] * 1001},
     "At most 1000 leads per request; split the upload or use POST /api/leads/import"),
])
def test_malformed_request_is_400_and_writes_nothing(api, body, error) -> None:
    result = _post(api, body, 400)
    assert result["error"] == error
    assert _counts() == (0, 0)


def test_overflowing_number_in_custom_fields_is_400(api) -> None:
    raw = '{"leads": [{"phone": "+12025550111", "customFields": {"n": [1e400]}}]}'
    response = api.generic("POST", "/api/leads", raw, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "leads[0].customFields must contain only finite numbers"
    assert _counts() == (0, 0)


def test_invalid_json_is_400(api) -> None:
    response = api.generic("POST", "/api/leads", "{not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "INVALID_JSON"
    assert _counts() == (0, 0)


def test_unknown_or_foreign_list_is_404_and_writes_nothing(api) -> None:
    foreign = LeadListFactory(workspace=WorkspaceFactory())
    for list_id in (foreign.pk, "667f1f77bcf86cd799439012"):
        assert _post(api, {"listId": list_id, "leads": [{"phone": "+12025550113"}]}, 404) == {
            "error": "List not found", "code": "LIST_NOT_FOUND"}
        assert _post(api, {"listId": list_id, "leads": [{"phone": "1"}]}, 404)["code"] == "LIST_NOT_FOUND"
    assert Lead.objects.count() == 0 and LeadList.objects.count() == 1


def test_unicode_and_unpaired_surrogates(api) -> None:
    # Lone surrogates are valid JSON escapes but not storable text: they become "?", never a 500.
    raw = (r'{"leads": [{"firstName": "Zo\u00eb \ud83d\ude80", "lastName": "\ud800bad", "phone": "+12025550114",'
           r' "customFields": {"emoji \ud83c\udf89": ["ok", {"nested\ud83d": "x"}]}}]}')
    response = api.generic("POST", "/api/leads", raw, content_type="application/json")
    assert response.status_code == 201, response.content
    lead = Lead.objects.get(pk=response.json()["leadId"])
    assert lead.first_name == "Zoë 🚀" and lead.last_name == "?bad"
    assert lead.custom_fields == {"emoji 🎉": ["ok", {"nested?": "x"}]}
    # A duplicate echoes its (cleaned) input: the response must still render.
    response = api.generic("POST", "/api/leads", raw, content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["duplicates"][0]["input"]["lastName"] == "?bad"


def test_1000_leads_in_one_request(api) -> None:
    leads = [{"phone": f"+1202555{i:04d}", "firstName": f"n{i}"} for i in range(1000)]
    body = _post(api, {"leads": leads}, 201)
    assert body["savedCount"] == 1000 and len(body["leadIds"]) == 1000
    assert Lead.objects.count() == 1000
    assert body["leadIds"][5] == Lead.objects.get(phone="+12025550005").pk


def test_read_only_workspace_gets_402(db) -> None:
    workspace = WorkspaceFactory(billing_status="past_due")
    _, raw = api_key_create(workspace=workspace)
    response = client_for(raw).post("/api/leads", {"leads": [{"phone": "+12025550115"}]}, format="json")
    assert response.status_code == 402 and response.json()["code"] == "READ_ONLY"
    assert client_for(raw).get("/api/leads").status_code == 200
    assert _counts() == (0, 0)


def test_missing_key_is_401(client, db) -> None:
    response = client.post("/api/leads", {"leads": [{"phone": "+12025550116"}]}, content_type="application/json")
    assert response.status_code == 401 and response.json() == {"error": "Unauthorized"}


def test_email_only_leads_dedup_within_a_request_and_against_the_list(api) -> None:
    first = _post(api, {"leads": [{"email": "solo@example.com"}, {"email": "SOLO@example.com", "firstName": "2"}]},
                  201)
    assert (first["savedCount"], first["duplicateCount"]) == (1, 1)
    assert first["leadIds"][0] == first["leadIds"][1] == first["existingLeadIds"][0]
    again = _post(api, {"leads": [{"email": "solo@example.com", "phone": "+12025550117"}]}, 200)
    assert again["existingLeadIds"] == [first["leadId"]]
    assert Lead.objects.count() == 1
