"""Reads for the leads, lists and DNC APIs, and the documents they answer with."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet

from leads.models import DncEntry, Lead, LeadList
from tuco.errors import BadRequest, NotFound
from tuco.ids import is_object_id
from tuco.models import Workspace
from tuco.timefmt import iso

LEAD_NOT_FOUND = "Lead not found"
DEFAULT_LIMIT = 50
MAX_LIMIT = 100
MAX_PAGE = 1_000_000
MAX_SEARCH = 200
_PHONE_LIKE = re.compile(r"^[\d\s()+.\-]+$")


# --- documents ----------------------------------------------------------------------------------------------

def _nz(value: str) -> str | None:
    return value or None


def lead_document(lead: Lead) -> dict[str, Any]:
    return {
        "_id": lead.pk,
        "firstName": _nz(lead.first_name),
        "lastName": _nz(lead.last_name),
        "email": _nz(lead.email),
        "phone": _nz(lead.phone),
        "altPhone1": _nz(lead.alt_phone1),
        "altPhone2": _nz(lead.alt_phone2),
        "altPhone3": _nz(lead.alt_phone3),
        "altEmail1": _nz(lead.alt_email1),
        "altEmail2": _nz(lead.alt_email2),
        "altEmail3": _nz(lead.alt_email3),
        "companyName": _nz(lead.company_name),
        "jobTitle": _nz(lead.job_title),
        "notes": _nz(lead.notes),
        "ghlContactId": _nz(lead.ghl_contact_id),
        "ghlLocationId": _nz(lead.ghl_location_id),
        "hsPortalId": _nz(lead.hs_portal_id),
        "hsContactId": _nz(lead.hs_contact_id),
        "customFields": lead.custom_fields or {},
        "tags": lead.tags or [],
        "listId": lead.list_id,
        "workspaceId": lead.workspace_id,
        "source": _nz(lead.source),
        "availabilityStatus": lead.availability_status,
        "availabilityCheckedAt": iso(lead.availability_checked_at),
        "createdAt": iso(lead.created_at),
        "updatedAt": iso(lead.updated_at),
    }


def list_document(lead_list: LeadList, lead_count: int) -> dict[str, Any]:
    return {
        "_id": lead_list.pk,
        "name": lead_list.name,
        "description": lead_list.description,
        "workspaceId": lead_list.workspace_id,
        "leadCount": lead_count,
        "createdAt": iso(lead_list.created_at),
        "updatedAt": iso(lead_list.updated_at),
    }


def dnc_document(entry: DncEntry) -> dict[str, Any]:
    is_email = "@" in entry.address
    return {
        "_id": entry.pk,
        "address": entry.address,
        "phone": None if is_email else entry.address,
        "email": entry.address if is_email else None,
        "reason": entry.reason,
        "sourceMessageId": _nz(entry.source_message_id),
        "workspaceId": entry.workspace_id,
        "createdAt": iso(entry.created_at),
    }


# --- query parameters ---------------------------------------------------------------------------------------

def _int_param(params: Any, name: str, *, default: int, minimum: int, maximum: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    text = str(raw).strip()
    if not text.isascii() or not text.isdigit() or len(text) > 9 or not minimum <= int(text) <= maximum:
        raise BadRequest(f"{name} must be an integer between {minimum} and {maximum}",
                         code=f"INVALID_{name.upper()}")
    return int(text)


def parse_page(params: Any) -> tuple[int, int]:
    """`page` (default 1) and `limit` (default 50, at most 100)."""
    page = _int_param(params, "page", default=1, minimum=1, maximum=MAX_PAGE)
    limit = _int_param(params, "limit", default=DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT)
    return page, limit


def parse_search(params: Any) -> str:
    text = (params.get("search") or "").replace("\x00", "").strip()
    if len(text) > MAX_SEARCH:
        raise BadRequest(f"search must be at most {MAX_SEARCH} characters", code="VALIDATION_ERROR")
    return text


def _id_param(params: Any, name: str) -> str:
    value = params.get(name)
    if value is None:
        return ""
    if not is_object_id(value):
        raise BadRequest(f"Invalid {name}", code="INVALID_ID")
    return value


@dataclass
class Page:
    items: list[Any]
    page: int
    limit: int
    total_count: int

    def pagination(self) -> dict[str, int]:
        return {"page": self.page, "limit": self.limit, "totalCount": self.total_count,
                "totalPages": math.ceil(self.total_count / self.limit)}


def _paginate(qs: QuerySet[Any], page: int, limit: int) -> Page:
    total = qs.count()
    offset = (page - 1) * limit
    items = list(qs[offset: offset + limit]) if offset < total else []
    return Page(items=items, page=page, limit=limit, total_count=total)


def _phone_digits_query(search: str, column: str) -> Q:
    """'(904) 295' also finds +1904295…: phones are stored as E.164 digits."""
    digits = re.sub(r"\D", "", search)
    if digits and _PHONE_LIKE.match(search):
        return Q(**{f"{column}__contains": digits})
    return Q()


# --- leads --------------------------------------------------------------------------------------------------

def lead_for_api(*, workspace: Workspace, lead_id: str) -> Lead:
    lead = Lead.objects.filter(workspace=workspace, pk=lead_id).first() if is_object_id(lead_id) else None
    if lead is None:
        raise NotFound(LEAD_NOT_FOUND)
    return lead


def lead_search(*, workspace: Workspace, params: Any) -> Page:
    page, limit = parse_page(params)
    search = parse_search(params)
    list_id = _id_param(params, "listId")
    qs = Lead.objects.filter(workspace=workspace)
    if list_id:
        qs = qs.filter(list_id=list_id)
    if search:
        qs = qs.filter(Q(first_name__icontains=search) | Q(last_name__icontains=search)
                       | Q(email__icontains=search) | Q(phone__icontains=search)
                       | Q(company_name__icontains=search) | _phone_digits_query(search, "phone"))
    return _paginate(qs.order_by("-created_at", "-id"), page, limit)


def lists_with_counts(*, workspace: Workspace) -> list[dict[str, Any]]:
    lists = LeadList.objects.filter(workspace=workspace).annotate(lead_count=Count("leads")).order_by(
        "created_at", "id")
    return [list_document(lead_list, lead_list.lead_count) for lead_list in lists]


def list_document_for(lead_list: LeadList) -> dict[str, Any]:
    return list_document(lead_list, Lead.objects.filter(list=lead_list).count())


# --- do not contact -----------------------------------------------------------------------------------------

def dnc_search(*, workspace: Workspace, params: Any) -> Page:
    page, limit = parse_page(params)
    search = parse_search(params)
    qs = DncEntry.objects.filter(workspace=workspace)
    if search:
        qs = qs.filter(Q(address__icontains=search) | Q(reason__icontains=search)
                       | _phone_digits_query(search, "address"))
    return _paginate(qs.order_by("-created_at", "-id"), page, limit)
