"""Write paths for leads and lists: the send path's lead resolution, and the leads API's update/delete/lists.

Bulk create and CSV import live in leads/importing.py and leads/csv_import.py (one saving path, leads/saving.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Case, IntegerField, Q, Value, When

from leads.models import ALT_EMAIL_FIELDS, ALT_PHONE_FIELDS, QUICK_SENDS_LIST, Lead, LeadList
from tuco.addresses import InvalidAddress
from tuco.body_fields import require_json_object
from tuco.db import insert_or_nothing
from tuco.errors import BadRequest, Conflict, NotFound
from tuco.ids import is_object_id
from tuco.logging import get_logger
from tuco.models import Workspace

log = get_logger(__name__)

LEAD_NOT_FOUND = "Lead not found or access denied"

# Quick Sends list ids never change once created: remember them per process.
_quick_sends_ids: dict[str, str] = {}


def lead_list_get_or_create(*, workspace: Workspace, name: str, description: str = "") -> LeadList:
    existing = LeadList.objects.filter(workspace=workspace, name=name).first()
    if existing:
        return existing
    candidate = LeadList(workspace=workspace, name=name, description=description)
    if insert_or_nothing(candidate):
        return candidate
    return LeadList.objects.get(workspace=workspace, name=name)


def quick_sends_list_id(*, workspace: Workspace) -> str:
    list_id = _quick_sends_ids.get(workspace.pk)
    if list_id is None:
        list_id = lead_list_get_or_create(workspace=workspace, name=QUICK_SENDS_LIST,
                                          description="Quick send messages").pk
        _quick_sends_ids[workspace.pk] = list_id
    return list_id


def split_name(full_name: str) -> tuple[str, str]:
    first, _, last = full_name.strip().partition(" ")
    return first, last.strip()


@dataclass
class LeadContact:
    """Contact details offered by a send request, merged onto the resolved lead."""

    phone: str = ""
    email: str = ""
    name: str = ""
    alt_phones: dict[int, str] | None = None
    alt_emails: dict[int, str] | None = None
    crm: dict[str, str] | None = None  # CRM link column → value

    def alt_updates(self) -> dict[str, str]:
        """The fields the send states outright: they overwrite the lead's (alternates, CRM links)."""
        updates = {ALT_PHONE_FIELDS[slot - 1]: v for slot, v in (self.alt_phones or {}).items()}
        updates.update({ALT_EMAIL_FIELDS[slot - 1]: v for slot, v in (self.alt_emails or {}).items()})
        updates.update(self.crm or {})
        return updates


def lead_get(*, workspace: Workspace, lead_id: str) -> Lead:
    lead = Lead.objects.filter(workspace=workspace, pk=lead_id).first() if is_object_id(lead_id) else None
    if lead is None:
        raise NotFound(LEAD_NOT_FOUND)
    return lead


def _find_by_contact(*, workspace: Workspace, phone: str, email: str) -> Lead | None:
    match = Q()
    if phone:
        match |= Q(phone=phone)
    if email:
        match |= Q(email=email)
    if not match:
        return None
    leads = Lead.objects.filter(workspace=workspace).filter(match)
    if phone and email:
        # A phone match beats an email match; among equals the oldest lead wins.
        rank = Case(When(phone=phone, then=Value(0)), default=Value(1), output_field=IntegerField())
        return leads.order_by(rank, "created_at").first()
    return leads.order_by("created_at").first()


def _merge(lead: Lead, contact: LeadContact) -> None:
    """Provided alt fields overwrite; empty primary phone/email/name are filled in."""
    updates = {k: v for k, v in contact.alt_updates().items() if getattr(lead, k) != v}
    if contact.phone and not lead.phone:
        updates["phone"] = contact.phone
    if contact.email and not lead.email:
        updates["email"] = contact.email
    if contact.name and not (lead.first_name or lead.last_name):
        updates["first_name"], updates["last_name"] = split_name(contact.name)
    if updates:
        for key, value in updates.items():
            setattr(lead, key, value)
        Lead.objects.filter(pk=lead.pk).update(**updates)


def lead_resolve_for_send(*, workspace: Workspace, lead_id: str, contact: LeadContact) -> tuple[Lead, bool]:
    """(the lead a send links to, whether it existed): the given one, one matching the recipient, or a new
    Quick Sends lead."""
    if lead_id:
        lead = lead_get(workspace=workspace, lead_id=lead_id)
        _merge(lead, LeadContact(alt_phones=contact.alt_phones, alt_emails=contact.alt_emails, crm=contact.crm))
        return lead, True
    lead = _find_by_contact(workspace=workspace, phone=contact.phone, email=contact.email)
    if lead is not None:
        _merge(lead, contact)
        return lead, True
    first, last = split_name(contact.name)
    candidate = Lead(workspace=workspace, list_id=quick_sends_list_id(workspace=workspace), phone=contact.phone,
                     email=contact.email, first_name=first, last_name=last, source="api", **contact.alt_updates())
    if insert_or_nothing(candidate):
        return candidate, False
    # A concurrent send created the same Quick Sends lead a moment ago.
    lead = _find_by_contact(workspace=workspace, phone=contact.phone, email=contact.email)
    assert lead is not None
    _merge(lead, contact)
    return lead, True


def lead_find_or_create(*, workspace: Workspace, values: dict[str, Any], list_id: str | None) -> tuple[Lead, bool]:
    """The workspace's lead with this phone (else email), or a new one in `list_id` (else Quick Sends):
    (lead, created). A concurrent create of the same lead ends with one lead."""
    phone, email = values.get("phone", ""), values.get("email", "")
    lead = _find_by_contact(workspace=workspace, phone=phone, email=email)
    if lead is not None:
        return lead, False
    candidate = Lead(workspace=workspace, list_id=list_id or quick_sends_list_id(workspace=workspace), source="api",
                     **values)
    if insert_or_nothing(candidate):
        return candidate, True
    lead = _find_by_contact(workspace=workspace, phone=phone, email=email)
    assert lead is not None
    return lead, False


def quick_sends_cache_clear(*, workspace: Workspace) -> None:
    _quick_sends_ids.pop(workspace.pk, None)


# --- leads API: update, delete, lists ---------------------------------------------------------------------

DUPLICATE_LEAD = "DUPLICATE_LEAD"
MAX_DELETE_IDS = 1000
# Document fields a PATCH may send back unchanged (they are set by Tuco, never by the caller).
READ_ONLY_FIELDS = ("_id", "workspaceId", "createdAt", "updatedAt", "source", "availabilityStatus",
                    "availabilityCheckedAt")
_CONTROL_FIELDS = ("defaultCountryCode",)


@dataclass
class LeadPatch:
    values: dict[str, Any]  # model attribute → new value ("" clears)
    custom_fields: dict[str, Any] | None  # merged key by key; a None value removes the key
    clear_custom_fields: bool
    list_id: str | None
    ignored: list[str] = field(default_factory=list)  # unknown keys, named back to the caller


def parse_lead_patch(data: Any) -> LeadPatch:
    """PATCH /api/leads/{id}: validate everything before touching the row (JSON Merge Patch semantics)."""
    from leads.lead_fields import (
        EMAIL_FIELDS,
        LEAD_INPUT_FIELDS,
        PHONE_FIELDS,
        TEXT_FIELDS,
        check_lead_types,
        clean_text,
        normalize_contact,
        phone_region,
    )

    require_json_object(data)
    known = (*LEAD_INPUT_FIELDS, "listId", *READ_ONLY_FIELDS, *_CONTROL_FIELDS)
    # Unknown fields are ignored (the API-wide rule) but named in the answer, so a typo is visible.
    unknown = sorted(clean_text(key[:100]) for key in data if key not in known)
    editable = [key for key in data if key in LEAD_INPUT_FIELDS or key == "listId"]
    if not editable:
        detail = f" (unknown: {', '.join(unknown[:5])})" if unknown else ""
        raise BadRequest(f"No fields to update{detail}", code="VALIDATION_ERROR")
    region = phone_region(data.get("defaultCountryCode"))
    checked = check_lead_types({k: v for k, v in data.items() if k != "customFields"}, "")
    patch = LeadPatch(values={}, custom_fields=None, clear_custom_fields=False, list_id=None, ignored=unknown)
    for key in editable:
        if key == "customFields":
            continue
        if key == "listId":
            list_id = data["listId"]
            if not is_object_id(list_id):
                raise BadRequest("Invalid listId", code="INVALID_ID")
            patch.list_id = list_id
            continue
        if key == "tags":
            patch.values["tags"] = checked.get("tags") or []
            continue
        text = (checked.get(key) or "").strip()
        if key in TEXT_FIELDS:
            patch.values[TEXT_FIELDS[key][0]] = text
        else:
            attr = PHONE_FIELDS.get(key) or EMAIL_FIELDS[key]
            try:
                patch.values[attr] = normalize_contact(key, text, region) if text else ""
            except InvalidAddress as exc:
                code = "INVALID_PHONE" if key in PHONE_FIELDS else "INVALID_EMAIL"
                raise BadRequest(str(exc), code=code)
    if "customFields" in data:
        raw = data["customFields"]
        if raw is None:
            patch.clear_custom_fields = True
        else:
            from leads.lead_fields import check_custom_fields

            patch.custom_fields = check_custom_fields(raw, "customFields")
    return patch


def _conflicting_lead(*, lead: Lead) -> Lead | None:
    match = Q()
    if lead.phone:
        match |= Q(phone=lead.phone)
    if lead.email:
        match |= Q(email=lead.email)
    if not match or lead.list_id is None:
        return None
    return Lead.objects.filter(list_id=lead.list_id).filter(match).exclude(pk=lead.pk).first()


def lead_update(*, workspace: Workspace, lead_id: str, patch: LeadPatch) -> Lead:
    from leads.selectors import LEAD_NOT_FOUND

    with transaction.atomic():
        lead = (Lead.objects.select_for_update().filter(workspace=workspace, pk=lead_id).first()
                if is_object_id(lead_id) else None)
        if lead is None:
            raise NotFound(LEAD_NOT_FOUND)
        if patch.list_id is not None and patch.list_id != lead.list_id:
            if not LeadList.objects.filter(workspace=workspace, pk=patch.list_id).exists():
                raise NotFound("List not found", code="LIST_NOT_FOUND")
            lead.list_id = patch.list_id
        for attr, value in patch.values.items():
            setattr(lead, attr, value)
        if not lead.phone and not lead.email:
            raise BadRequest("Lead must have a phone or an email", code="VALIDATION_ERROR")
        if patch.clear_custom_fields:
            lead.custom_fields = {}
        if patch.custom_fields is not None:
            merged = dict(lead.custom_fields or {})
            for key, value in patch.custom_fields.items():
                if value is None:
                    merged.pop(key, None)
                else:
                    merged[key] = value
            lead.custom_fields = merged
        try:
            with transaction.atomic():
                lead.save()
        except IntegrityError:
            other = _conflicting_lead(lead=lead)
            which = "phone" if other is not None and lead.phone and other.phone == lead.phone else "email"
            raise Conflict(f"Another lead in this list already has this {which}", code=DUPLICATE_LEAD,
                           existingLeadId=other.pk if other else None)
    log.info("lead.updated", leadId=lead.pk, fields=sorted(patch.values))
    return lead


def leads_delete(*, workspace: Workspace, ids: list[str]) -> int:
    """Delete this workspace's leads among `ids`; other workspaces' and unknown ids are ignored."""
    deleted, per_model = Lead.objects.filter(workspace=workspace, pk__in=ids).delete()
    count = per_model.get(Lead._meta.label, 0)
    if count:
        log.info("leads.deleted", count=count)
    return count


def parse_delete_ids(data: Any, params: Any) -> list[str]:
    """`{"ids": [...]}` in the body and/or `?id=` / `?ids=a,b` in the query string (all of them count)."""
    ids: Any = data.get("ids") if isinstance(data, dict) else None
    if ids is not None and not isinstance(ids, list):
        raise BadRequest("ids must be an array of lead ids", code="VALIDATION_ERROR")
    ids = list(ids or [])
    if "ids" in params:
        ids += [part.strip() for part in str(params["ids"]).split(",")]
    if "id" in params:
        ids.append(params["id"])
    if not ids:
        raise BadRequest("ids is required: a non-empty array of lead ids", code="VALIDATION_ERROR")
    if len(ids) > MAX_DELETE_IDS:
        raise BadRequest(f"At most {MAX_DELETE_IDS} ids per request", code="VALIDATION_ERROR")
    for value in ids:
        if not is_object_id(value):
            shown = value[:40] if isinstance(value, str) else value
            raise BadRequest(f"Invalid lead id: {shown!r}", code="INVALID_ID")
    return list(dict.fromkeys(ids))


def lead_list_create(*, workspace: Workspace, name: str, description: str) -> LeadList:
    """A new list; a name already used in the workspace is a 409 naming the existing list."""
    candidate = LeadList(workspace=workspace, name=name, description=description)
    if not insert_or_nothing(candidate):
        existing = LeadList.objects.filter(workspace=workspace, name=name).first()
        raise Conflict(f"A list named {name!r} already exists", code="LIST_EXISTS",
                       listId=existing.pk if existing else None)
    log.info("lead_list.created", listId=candidate.pk)
    return candidate


def parse_list_input(data: Any) -> tuple[str, str]:
    from leads.lead_fields import clean_text

    require_json_object(data)
    name, description = data.get("name"), data.get("description")
    if not isinstance(name, str) or not name.strip():
        raise BadRequest("name is required", code="VALIDATION_ERROR")
    if len(name) > 200:
        raise BadRequest("name must be at most 200 characters", code="VALIDATION_ERROR")
    if description is None:
        description = ""
    if not isinstance(description, str) or len(description) > 500:
        raise BadRequest("description must be a string of at most 500 characters", code="VALIDATION_ERROR")
    return clean_text(name.strip()), clean_text(description.strip())


def lead_record_availability(*, lead_id: str, available: bool, at: datetime) -> None:
    """What the last iMessage availability check (or send) learned about the lead."""
    status = Lead.Availability.AVAILABLE if available else Lead.Availability.UNAVAILABLE
    Lead.objects.filter(pk=lead_id).update(availability_status=status, availability_checked_at=at)
