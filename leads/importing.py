"""Lead rows in, leads out: one path for POST /api/leads (here), the CSV upload and `manage.py import_leads`
(leads/csv_import.py). Fields are checked by leads/lead_fields.py and saved by leads/saving.py.

Two kinds of problems, two outcomes:

* The request is wrong as a whole (not an object, no leads, more than 1000,
  a field of the wrong JSON type or too long, an unknown list, an unreadable
  CSV): 400 and nothing is written, not even the list.
* A row's *values* are wrong (a phone or email that does not normalize, no
  phone and no email at all): the row is skipped and reported by index (JSON)
  or spreadsheet row number (CSV); the valid rows are saved.

Dedup within a list is the database's partial unique indexes on (list, phone)
and (list, email): rows go in as one multi-row INSERT … ON CONFLICT DO NOTHING
RETURNING id per batch, and whatever was not inserted is matched to the lead
that already holds its phone or email. Nothing is checked before inserting, so
concurrent imports of the same contact create exactly one lead.
"""


from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from leads.lead_fields import (
    LEAD_INPUT_FIELDS,
    MAX_LEADS_PER_REQUEST,
    LeadRow,
    build_row,
    check_lead_types,
    clean_text,
    parse_source,
    phone_region,
)
from leads.models import LeadList
from leads.saving import LeadSaver, Outcome
from tuco.body_fields import require_json_object
from tuco.errors import BadRequest, NotFound
from tuco.logging import get_logger
from tuco.models import Workspace

log = get_logger(__name__)

# --- POST /api/leads ----------------------------------------------------------------------------------------

@dataclass
class CreatePayload:
    rows: list[dict[str, Any]]  # type-checked, cleaned camelCase fields per input lead (echoed for duplicates)
    list_id: str
    list_name: str
    source: str
    region: str


def parse_create_payload(data: Any) -> CreatePayload:
    """Whole-request checks for POST /api/leads. Raises BadRequest before anything is written."""
    require_json_object(data)
    given = [key for key in ("leads", "body", "lead") if data.get(key) is not None]
    if len(given) > 1:
        raise BadRequest(f"Send only one of leads, body or lead (got {', '.join(given)})", code="VALIDATION_ERROR")
    if data.get("leads") is not None:
        raw_leads, where = data["leads"], "leads"
    elif data.get("body") is not None:
        raw_leads, where = data["body"], "body"
    elif data.get("lead") is not None:
        raw_leads, where = [data["lead"]], "lead"
    elif any(data.get(key) is not None for key in LEAD_INPUT_FIELDS):
        raw_leads, where = [data], ""
    else:
        raise BadRequest("leads is required: an array of leads, a lead object, or the lead's fields",
                         code="VALIDATION_ERROR")
    if isinstance(raw_leads, dict) and where == "body":
        raw_leads = [raw_leads]
    if not isinstance(raw_leads, list):
        raise BadRequest(f"{where} must be an array of leads", code="VALIDATION_ERROR")
    if not raw_leads:
        raise BadRequest(f"{where} must contain at least one lead", code="VALIDATION_ERROR")
    if len(raw_leads) > MAX_LEADS_PER_REQUEST:
        raise BadRequest(f"At most {MAX_LEADS_PER_REQUEST} leads per request; split the upload or use "
                         "POST /api/leads/import", code="TOO_MANY_LEADS")
    rows = []
    for index, raw in enumerate(raw_leads):
        label = where if where in ("", "lead") else f"{where}[{index}]"
        rows.append(check_lead_types(raw, label))
    list_id, list_name = parse_list_ref(data.get("listId"), data.get("listName"))
    ghl = data.get("ghlLocationId")
    if ghl is not None and (not isinstance(ghl, str) or len(ghl) > 100):
        raise BadRequest("ghlLocationId must be a string of at most 100 characters", code="VALIDATION_ERROR")
    return CreatePayload(rows=rows, list_id=list_id, list_name=list_name,
                         source=parse_source(data.get("source"), "api"), region=phone_region(
                             data.get("defaultCountryCode")))


def parse_list_ref(list_id: Any, list_name: Any) -> tuple[str, str]:
    if list_id not in (None, ""):
        if not isinstance(list_id, str) or not re.fullmatch(r"[0-9a-f]{24}", list_id):
            raise BadRequest("Invalid listId", code="INVALID_ID")
        return list_id, ""
    if list_name is not None:
        if not isinstance(list_name, str) or len(list_name) > 200:
            raise BadRequest("listName must be a string of at most 200 characters", code="VALIDATION_ERROR")
        return "", clean_text(list_name.strip())  # blank → Quick Sends
    return "", ""


def resolve_list(*, workspace: Workspace, list_id: str, list_name: str) -> LeadList:
    """The target list: by id (must be this workspace's), by name (created on first use), or Quick Sends."""
    from leads.services import lead_list_get_or_create, quick_sends_cache_clear, quick_sends_list_id

    if list_id:
        lead_list = LeadList.objects.filter(workspace=workspace, pk=list_id).first()
        if lead_list is None:
            raise NotFound("List not found", code="LIST_NOT_FOUND")
        return lead_list
    if list_name:
        return lead_list_get_or_create(workspace=workspace, name=list_name)
    quick_sends = LeadList.objects.filter(pk=quick_sends_list_id(workspace=workspace)).first()
    if quick_sends is None:  # the per-process cache outlived the list (deleted in the admin)
        quick_sends_cache_clear(workspace=workspace)
        quick_sends = LeadList.objects.get(pk=quick_sends_list_id(workspace=workspace))
    return quick_sends


def check_list_exists(*, workspace: Workspace, list_id: str) -> None:
    if list_id and not LeadList.objects.filter(workspace=workspace, pk=list_id).exists():
        raise NotFound("List not found", code="LIST_NOT_FOUND")


@dataclass
class CreateResult:
    lead_list: LeadList
    total: int
    outcomes: list[Outcome] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def saved_count(self) -> int:
        return sum(1 for o in self.outcomes if o.created)


def leads_create(*, workspace: Workspace, payload: CreatePayload) -> CreateResult:
    rows: list[tuple[int, LeadRow]] = []
    errors: list[dict[str, Any]] = []
    for index, fields in enumerate(payload.rows):
        built = build_row(fields, payload.region)
        if isinstance(built, str):
            errors.append({"index": index, "error": built})
        else:
            rows.append((index, built))
    if not rows:
        check_list_exists(workspace=workspace, list_id=payload.list_id)
        text = errors[0]["error"] if len(errors) == 1 else f"No valid leads: all {len(errors)} were invalid"
        raise BadRequest(text, code="INVALID_LEADS", invalidCount=len(errors), errors=errors)
    lead_list = resolve_list(workspace=workspace, list_id=payload.list_id, list_name=payload.list_name)
    result = CreateResult(lead_list=lead_list, total=len(payload.rows), errors=errors)
    saver = LeadSaver(workspace=workspace, lead_list=lead_list, source=payload.source,
                      on_outcome=result.outcomes.append)
    for index, row in rows:
        saver.add(index, row)
    saver.flush()
    log.info("leads.created", listId=lead_list.pk, saved=result.saved_count,
             duplicates=len(result.outcomes) - result.saved_count, invalid=len(errors))
    return result
