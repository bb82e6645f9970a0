"""Concurrency against real PostgreSQL: one enrollment per (campaign, lead) and one message per (enrollment, step),
whatever the number of threads adding the lead or sweeping."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from campaigns.engine import sweep_due_enrollments
from campaigns.models import Enrollment
from leads.models import Lead
from messaging.models import Message
from tests.campaigns.conftest import create_campaign, launch
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db(transaction=True)
THREADS = 10


def _together(work: Callable[[int], Any], n: int = THREADS) -> list[Any]:
    """Run `work(i)` in n threads released at once; each thread has its own database connection."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_the_same_lead_added_from_10_threads_is_enrolled_once(api, lines, workspace) -> None:
    campaign_id = create_campaign(api)["_id"]
    lead = LeadFactory(workspace=workspace)
    responses = _together(lambda i: api.post(f"/api/campaigns/{campaign_id}/leads", {"leadId": lead.pk},
                                             format="json"))
    assert all(not isinstance(r, Exception) and r.status_code == 200 for r in responses), responses
    bodies = [r.json() for r in responses]
    assert sum(1 for b in bodies if b["message"] == "Lead added to campaign and sequence started") == 1
    assert sum(1 for b in bodies if b.get("alreadyInCampaign")) == THREADS - 1
    assert Enrollment.objects.filter(campaign_id=campaign_id, lead=lead).count() == 1


def test_the_same_new_lead_posted_from_10_threads_is_one_lead_and_one_enrollment(api, lines, workspace) -> None:
    campaign_id = create_campaign(api)["_id"]
    responses = _together(lambda i: api.post(f"/api/campaigns/{campaign_id}/leads", {
        "lead": {"firstName": "Ada", "phone": "+12025550177"}}, format="json"))
    assert all(not isinstance(r, Exception) and r.status_code == 200 for r in responses), responses
    assert len({r.json()["leadId"] for r in responses}) == 1
    assert Lead.objects.filter(workspace=workspace, phone="+12025550177").count() == 1
    assert Enrollment.objects.filter(campaign_id=campaign_id).count() == 1


def test_concurrent_sweeps_create_each_step_once(api, lines, workspace) -> None:
    campaign_id = create_campaign(api)["_id"]
    launch(api, campaign_id)
    leads = [LeadFactory(workspace=workspace) for _ in range(60)]
    api.post(f"/api/campaigns/{campaign_id}/leads", {"leadIds": [lead.pk for lead in leads]}, format="json")
    results = _together(lambda i: sweep_due_enrollments(), n=4)
    assert all(isinstance(r, dict) for r in results), results
    assert sum(r["created"] for r in results) == 60
    assert Message.objects.filter(campaign_id=campaign_id).count() == 60
    assert Message.objects.filter(campaign_id=campaign_id).values("lead_id").distinct().count() == 60
    assert not Enrollment.objects.filter(campaign_id=campaign_id).exclude(state="sending").exists()
