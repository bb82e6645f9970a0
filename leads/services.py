"""Write paths for leads and lists used by the send path (the leads API builds on these)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Case, IntegerField, Q, Value, When

from leads.models import ALT_EMAIL_FIELDS, ALT_PHONE_FIELDS, QUICK_SENDS_LIST, Lead, LeadList
from tuco.db import insert_or_nothing
from tuco.errors import NotFound
from tuco.ids import is_object_id
from tuco.models import Workspace

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

    def alt_updates(self) -> dict[str, str]:
        updates = {ALT_PHONE_FIELDS[slot - 1]: v for slot, v in (self.alt_phones or {}).items()}
        updates.update({ALT_EMAIL_FIELDS[slot - 1]: v for slot, v in (self.alt_emails or {}).items()})
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


def lead_resolve_for_send(*, workspace: Workspace, lead_id: str, contact: LeadContact) -> Lead:
    """The lead a send links to: the given one, one matching the recipient, or a new Quick Sends lead."""
    if lead_id:
        lead = lead_get(workspace=workspace, lead_id=lead_id)
        _merge(lead, LeadContact(alt_phones=contact.alt_phones, alt_emails=contact.alt_emails))
        return lead
    lead = _find_by_contact(workspace=workspace, phone=contact.phone, email=contact.email)
    if lead is not None:
        _merge(lead, contact)
        return lead
    first, last = split_name(contact.name)
    candidate = Lead(workspace=workspace, list_id=quick_sends_list_id(workspace=workspace), phone=contact.phone,
                     email=contact.email, first_name=first, last_name=last, source="api", **contact.alt_updates())
    if insert_or_nothing(candidate):
        return candidate
    # A concurrent send created the same Quick Sends lead a moment ago.
    lead = _find_by_contact(workspace=workspace, phone=contact.phone, email=contact.email)
    assert lead is not None
    _merge(lead, contact)
    return lead
