"""Celery tasks of the lines app (thin)."""

from __future__ import annotations

from celery import shared_task

from leads.models import Lead
from lines.availability_checks import QuotaExhausted, check_lead
from tuco.models import Workspace


@shared_task(ignore_result=True)
def check_leads_availability(workspace_id: str, lead_ids: list[str]) -> dict[str, int]:
    workspace = Workspace.objects.get(pk=workspace_id)
    done = 0
    for lead in Lead.objects.filter(workspace=workspace, pk__in=lead_ids).order_by("created_at"):
        try:
            check_lead(workspace, lead)
        except QuotaExhausted:
            break  # the rest stay as they were; the caller reads availabilityStatus
        done += 1
    return {"checked": done, "requested": len(lead_ids)}
