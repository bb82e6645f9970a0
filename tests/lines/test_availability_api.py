"""/api/check-availability-rr and /api/leads/check-availability."""

from __future__ import annotations

import pytest
import responses

from leads.models import Lead
from lines.models import LineDailyUsage
from tests.factories import DeviceFactory, LeadFactory, LineFactory, WorkspaceFactory
from tests.messaging.relay_mocks import RELAY
from tests.messaging.test_availability_fallback import handles

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_gap(settings) -> None:
    settings.TUCO_AVAILABILITY_GAP_SECONDS = 0


@pytest.fixture
def papi_line(workspace):
    return LineFactory(workspace=workspace, device=DeviceFactory(workspace=workspace, relay_url=RELAY,
                                                                 private_api=True))


@responses.activate
def test_round_robin_get_and_post(api, papi_line) -> None:
    asked = handles({"+12025550001": False, "+12025550002": True})
    single = api.get("/api/check-availability-rr?address=%2B12025550001").json()
    assert single == {"available": False, "reason": "Contact not available on iMessage",
                      "checkedAddresses": ["+12025550001"], "cached": False}
    many = api.post("/api/check-availability-rr", {"phones": ["+12025550001", "+1 202 555 0002"],
                                                   "emails": ["a@b.co"]}, format="json").json()
    assert many["available"] is True and many["address"] == "+12025550002"
    assert many["checkedAddresses"] == ["+12025550001", "+12025550002"]
    assert asked == ["+12025550001", "+12025550002"]  # the first phone came from the cache the second time


def test_no_addresses_is_400_in_both_shapes(api, papi_line) -> None:
    response = api.post("/api/check-availability-rr", {"phones": [], "emails": []}, format="json")
    assert response.status_code == 400
    assert response.json()["available"] is False and response.json()["reason"] == "No phone or email addresses provided"
    assert response.json()["error"] == "No phone or email addresses provided"


@responses.activate
def test_every_line_spent_is_429_retry_after_3600(api, workspace, papi_line) -> None:
    type(papi_line).objects.filter(pk=papi_line.pk).update(availability_daily_cap=1)
    other = LineFactory(workspace=workspace, device=DeviceFactory(workspace=workspace, relay_url=RELAY + "/2",
                                                                  private_api=True), availability_daily_cap=1)
    responses.get(f"{RELAY}/2/api/v1/handle/availability/imessage",
                  json={"status": 200, "message": "Success", "data": {"available": True}})
    handles({})
    assert api.get("/api/check-availability-rr?address=%2B12025550001").status_code == 200
    assert api.get("/api/check-availability-rr?address=%2B12025550002").status_code == 200
    spent = api.get("/api/check-availability-rr?address=%2B12025550003")
    assert spent.status_code == 429 and spent["Retry-After"] == "3600"
    assert {u.line_id: u.availability_count for u in LineDailyUsage.objects.all()} == {papi_line.pk: 1, other.pk: 1}
    assert LineDailyUsage.objects.filter(total_count__gt=0).count() == 0  # the send quota is untouched


@responses.activate
def test_lead_check_writes_the_status_back(api, workspace, papi_line) -> None:
    lead = LeadFactory(workspace=workspace, phone="+12025550001", alt_phone1="+12025550002")
    handles({"+12025550001": False, "+12025550002": True})
    body = api.get(f"/api/leads/check-availability?id={lead.pk}").json()
    assert body["success"] and body["available"] and body["status"] == "available"
    assert body["checkedAddresses"] == ["+12025550001", "+12025550002"]
    assert Lead.objects.get(pk=lead.pk).availability_status == "available"
    assert api.get("/api/leads/check-availability").json()["error"] == "Lead ID is required"
    assert api.get("/api/leads/check-availability?id=667f1f77bcf86cd799439011").status_code == 404
    foreign = LeadFactory(workspace=WorkspaceFactory())
    assert api.get(f"/api/leads/check-availability?id={foreign.pk}").status_code == 404


@responses.activate
def test_bulk_lead_check_and_single_address(api, workspace, papi_line) -> None:
    leads = [LeadFactory(workspace=workspace, phone=f"+1202555000{i}") for i in range(3)]
    handles({"+12025550001": False})
    body = api.post("/api/leads/check-availability", {"leadIds": [lead.pk for lead in leads]}, format="json").json()
    assert body["processingMode"] == "synchronous" and body["checked"] == 3 and body["errors"] == 0
    assert {r["leadId"]: r["status"] for r in body["results"]}[leads[1].pk] == "unavailable"
    single = api.post("/api/leads/check-availability", {"address": "+12025550009"}, format="json").json()
    assert single["success"] and single["available"] and single["address"] == "+12025550009"
