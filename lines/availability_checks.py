"""Checking availability on request (the availability API and its background job), not as part of a send:
the first address on iMessage among the ones asked, through the workspace's Private API lines.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from leads.models import Lead
from lines.availability import Outcome, checking_lines, first_available
from tuco.errors import ApiError, BadRequest
from tuco.models import Workspace

QUOTA = "Daily availability check quota exhausted"


class QuotaExhausted(ApiError):
    status = 429

    def __init__(self) -> None:
        super().__init__(QUOTA, code="AVAILABILITY_QUOTA_EXHAUSTED", headers={"Retry-After": "3600"},
                         available=False, reason=QUOTA)


def _lines(workspace: Workspace) -> list:
    lines = checking_lines(workspace_id=workspace.pk)
    if not lines:
        raise BadRequest("No active line with the iMessage Private API can check availability",
                         code="NO_CHECKING_LINE", available=False, reason="No Active Line")
    return lines


def run_check(workspace: Workspace, addresses: list[str]) -> Outcome:
    outcome = first_available(workspace_id=workspace.pk, addresses=addresses, lines=_lines(workspace),
                              now=timezone.now())
    if outcome.error is not None:
        raise ApiError(f"availability API error: {outcome.error.message}", code="AVAILABILITY_ERROR", status=502,
                       available=False, reason="availability API error")
    if outcome.budget_exhausted_until is not None and not outcome.checks:
        raise QuotaExhausted()
    return outcome


def lead_addresses(lead: Lead) -> list[str]:
    """The spec's priority order: phone → altPhone1-3 → email → altEmail1-3."""
    return [a for a in (lead.phone, lead.alt_phone1, lead.alt_phone2, lead.alt_phone3, lead.email, lead.alt_email1,
                        lead.alt_email2, lead.alt_email3) if a]


def check_lead(workspace: Workspace, lead: Lead) -> dict[str, Any]:
    addresses = lead_addresses(lead)
    if not addresses:
        return {"leadId": lead.pk, "available": False, "status": "unavailable", "checkedAddresses": []}
    try:
        outcome = run_check(workspace, addresses)
    except QuotaExhausted:
        raise
    except ApiError:
        Lead.objects.filter(pk=lead.pk).update(availability_status=Lead.Availability.ERROR,
                                               availability_checked_at=timezone.now())
        return {"leadId": lead.pk, "available": False, "status": "error", "checkedAddresses": []}
    if outcome.address is None and outcome.budget_exhausted_until is not None:
        raise QuotaExhausted()
    status = "available" if outcome.address else "unavailable"
    Lead.objects.filter(pk=lead.pk).update(availability_status=status, availability_checked_at=timezone.now())
    return {"leadId": lead.pk, "available": outcome.address is not None, "status": status,
            "checkedAddresses": outcome.checked_addresses, "address": outcome.address}
