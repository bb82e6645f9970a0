"""Availability endpoints: /api/check-availability-rr and /api/leads/check-availability.

Shapes follow the reference pages; refusals carry both the reference's
`{"available": false, "reason"}` and the API-wide `{"error", "code"}`. When
every line has spent its daily checks the answer is 429 with Retry-After: 3600.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from leads.models import Lead
from leads.services import lead_get
from lines import availability_schemas as schemas
from lines.availability import Check, Outcome
from lines.availability_checks import QUOTA, check_lead, run_check
from lines.tasks import check_leads_availability
from tuco.addresses import InvalidAddress, normalize_email, normalize_phone
from tuco.auth import workspace_of
from tuco.body_fields import optional_string, require_json_object
from tuco.errors import BadRequest, NotFound
from tuco.ids import is_object_id
from tuco.models import Workspace
from tuco.throttles import RateLimitedMixin

NO_ADDRESSES = "No phone or email addresses provided"
NOT_AVAILABLE = "Contact not available on iMessage"
SYNC_LEAD_LIMIT = 10


def _answer(outcome: Outcome) -> dict[str, Any]:
    last: Check | None = outcome.checks[-1] if outcome.checks else None
    body: dict[str, Any] = {"available": outcome.address is not None,
                            "checkedAddresses": outcome.checked_addresses,
                            "cached": bool(last and last.cached)}
    if outcome.address:
        body["address"] = outcome.address
    elif outcome.budget_exhausted_until is not None:
        body["reason"] = QUOTA
    else:
        body["reason"] = NOT_AVAILABLE
    return body


def _normalized(values: Any, kind: str) -> list[str]:
    if values in (None, ""):
        return []
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise BadRequest(f"{kind} must be an array of strings", code="VALIDATION_ERROR")
    normalized = []
    for value in values:
        if not value.strip():
            continue
        try:
            normalized.append(normalize_email(value) if kind == "emails" else normalize_phone(value))
        except InvalidAddress:
            raise BadRequest(f"{value!r} is not a valid {kind[:-1]}", code="INVALID_ADDRESS")
    return normalized


def _single(address: str) -> list[str]:
    try:
        return [normalize_email(address) if "@" in address else normalize_phone(address)]
    except InvalidAddress:
        raise BadRequest(f"{address!r} is not a valid phone number (E.164) or email", code="INVALID_ADDRESS")


def _no_addresses() -> BadRequest:
    return BadRequest(NO_ADDRESSES, code="NO_ADDRESSES", available=False, reason=NO_ADDRESSES)


class CheckAvailabilityRoundRobinApi(RateLimitedMixin, APIView):
    rate_group = "availability"
    rate_methods = ("GET", "POST")

    @extend_schema(operation_id="availability_rr_get", parameters=[OpenApiParameter("address", str, required=True)],
                   responses={200: schemas.RoundRobinResponse, 400: schemas.Error, 401: schemas.Error,
                              429: schemas.Error, 502: schemas.Error},
                   summary="Is one address on iMessage? (round-robin across lines with check budget)")
    def get(self, request: Request) -> Response:
        address = (request.query_params.get("address") or "").strip()
        if not address:
            raise _no_addresses()
        return Response(_answer(run_check(workspace_of(request), _single(address))))

    @extend_schema(operation_id="availability_rr", request=schemas.RoundRobinInput,
                   responses={200: schemas.RoundRobinResponse, 400: schemas.Error, 401: schemas.Error,
                              429: schemas.Error, 502: schemas.Error},
                   summary="Is any of these phones/emails on iMessage? (phones first, in order)")
    def post(self, request: Request) -> Response:
        data = require_json_object(request.data)
        address = optional_string(data, "address")
        addresses = _normalized(data.get("phones"), "phones") + _normalized(data.get("emails"), "emails")
        if address:
            addresses = _single(address) + addresses
        if not addresses:
            raise _no_addresses()
        return Response(_answer(run_check(workspace_of(request), addresses)))


class LeadCheckAvailabilityApi(RateLimitedMixin, APIView):
    rate_group = "availability"
    rate_methods = ("GET", "POST")

    @extend_schema(operation_id="leads_check_availability_get",
                   parameters=[OpenApiParameter("id", str, required=True, description="Lead id")],
                   responses={200: schemas.LeadCheckResponse, 400: schemas.Error, 401: schemas.Error,
                              404: schemas.Error, 429: schemas.Error},
                   summary="Check every address of a lead; the result is written to the lead")
    def get(self, request: Request) -> Response:
        lead_id = (request.query_params.get("id") or "").strip()
        if not lead_id:
            raise BadRequest("Lead ID is required", code="LEAD_ID_REQUIRED")
        workspace = workspace_of(request)
        try:
            lead = lead_get(workspace=workspace, lead_id=lead_id)
        except NotFound:
            raise NotFound("Lead not found")
        return Response({"success": True, **check_lead(workspace, lead)})

    @extend_schema(operation_id="leads_check_availability", request=schemas.LeadCheckInput,
                   responses={200: schemas.LeadBulkCheckResponse, 400: schemas.Error, 401: schemas.Error,
                              404: schemas.Error, 429: schemas.Error},
                   summary="Check one address, or many leads (small batches now, large ones in the background)")
    def post(self, request: Request) -> Response:
        data, workspace = require_json_object(request.data), workspace_of(request)
        # Every field is type-checked before any of them is used, whichever mode the body selects.
        address, list_id = optional_string(data, "address"), optional_string(data, "listId")
        lead_ids = data.get("leadIds")
        if lead_ids is not None and (not isinstance(lead_ids, list) or not lead_ids
                                     or not all(isinstance(i, str) for i in lead_ids)):
            raise BadRequest("leadIds must be a non-empty array of lead ids", code="VALIDATION_ERROR")
        if address:
            outcome = run_check(workspace, _single(address))
            return Response({"success": True, "available": outcome.address is not None,
                             "address": _single(address)[0], "cached": _answer(outcome)["cached"]})
        leads = self._leads(workspace, lead_ids=lead_ids, list_id=list_id)
        if len(leads) > SYNC_LEAD_LIMIT:
            job = f"bulk-availability-{timezone.now().isoformat()}"
            check_leads_availability.apply_async(args=[workspace.pk, [lead.pk for lead in leads]])
            return Response({"success": True, "message": "Bulk availability check started in background",
                             "jobId": job, "checked": len(leads), "processingMode": "background"})
        results = [check_lead(workspace, lead) for lead in leads]
        errors = sum(1 for r in results if r["status"] == "error")
        return Response({"success": True, "checked": len(results), "successful": len(results) - errors,
                         "errors": errors, "results": results, "processingMode": "synchronous"})

    @staticmethod
    def _leads(workspace: Workspace, *, lead_ids: list[str] | None, list_id: str) -> list[Lead]:
        if lead_ids is not None:
            leads = list(Lead.objects.filter(workspace=workspace, pk__in=[i for i in lead_ids if is_object_id(i)]))
        elif list_id:
            leads = list(Lead.objects.filter(workspace=workspace, list_id=list_id))
        else:
            raise BadRequest("Provide address, leadIds or listId", code="VALIDATION_ERROR")
        if not leads:
            raise NotFound("No leads found", code="LEADS_NOT_FOUND")
        return leads
