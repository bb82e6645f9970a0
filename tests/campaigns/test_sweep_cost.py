"""The campaign sweep's cost follows the due enrollments, not the enrolled ones (docs/campaigns.md, "The engine"):
with many leads waiting for a later step and none due, a sweep reads a handful of enrollment rows.

Measured as PostgreSQL does it: each statement the sweep ran is re-run under EXPLAIN ANALYZE and the rows
its plan read from campaigns_enrollment are added up (bench/campaign.py shows the time it costs)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.engine import sweep_due_enrollments
from campaigns.models import Enrollment
from leads.models import Lead, LeadList
from tests.campaigns.conftest import create_campaign, launch

pytestmark = pytest.mark.django_db

WAITING = 300


def _rows_read(plan: dict[str, Any], table: str) -> int:
    own = plan["Actual Rows"] * plan["Actual Loops"] if plan.get("Relation Name") == table else 0
    return own + sum(_rows_read(child, table) for child in plan.get("Plans", []))


def enrollment_rows_read(statements: list[str]) -> int:
    total = 0
    with connection.cursor() as cursor:
        for sql in statements:
            if sql.lstrip().upper().startswith("SELECT"):
                cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
                total += _rows_read(cursor.fetchone()[0][0]["Plan"], Enrollment._meta.db_table)
    return total


def test_a_sweep_with_nothing_due_reads_no_waiting_enrollment(api, workspace, lines) -> None:
    lead_list = LeadList.objects.create(workspace=workspace, name="Spring")
    Lead.objects.bulk_create([Lead(workspace=workspace, list=lead_list, phone=f"+1202555{n:04d}")
                              for n in range(WAITING)])
    campaign = create_campaign(api, listId=lead_list.pk, steps=[
        {"message": "Hi {firstName|there}"}, {"message": "Any thoughts?", "waitSeconds": 86400}])
    launch(api, campaign["_id"])
    # Every lead is waiting for step 1, due tomorrow: nothing is due now.
    assert Enrollment.objects.filter(campaign_id=campaign["_id"]).update(
        next_step=1, next_at=timezone.now() + timedelta(days=1), last_sent_at=timezone.now()) == WAITING
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE campaigns_enrollment")  # what autovacuum does: plans for the real row counts

    with CaptureQueriesContext(connection) as captured:
        counts = sweep_due_enrollments()

    assert counts == {"created": 0, "stopped": 0, "held": 0, "completed": 0}
    read = enrollment_rows_read([query["sql"] for query in captured.captured_queries])
    assert read <= 5, f"the sweep read {read} enrollment rows of {WAITING} waiting, none due"


def test_the_sweep_completes_a_list_campaign_whose_leads_are_all_done_and_no_other(api, workspace, lines) -> None:
    from campaigns.models import Campaign

    full, empty = (LeadList.objects.create(workspace=workspace, name=name) for name in ("Full", "Empty"))
    Lead.objects.bulk_create([Lead(workspace=workspace, list=full, phone=f"+1202555{n:04d}") for n in range(3)])
    done, waiting, never = (create_campaign(api, name=name, listId=lead_list.pk)["_id"]
                            for name, lead_list in (("Done", full), ("Waiting", full), ("Never", empty)))
    for campaign_id in (done, waiting, never):
        launch(api, campaign_id)
    Enrollment.objects.filter(campaign_id=done).update(state=Enrollment.State.COMPLETED, next_at=None)
    Enrollment.objects.filter(campaign_id=waiting).update(next_at=timezone.now() + timedelta(days=1))
    Enrollment.objects.filter(campaign_id=waiting, lead__phone="+12025550000").update(state=Enrollment.State.STOPPED)

    sweep_due_enrollments()

    status = dict(Campaign.objects.values_list("id", "status"))
    assert status == {done: "completed", waiting: "active", never: "active"}
