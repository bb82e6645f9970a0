"""Lead rows in, leads out: one path for POST /api/leads, the CSV upload and `manage.py import_leads`.

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

import codecs
import csv
import functools
import io
import itertools
import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import phonenumbers
import psycopg
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from leads.models import Lead, LeadList
from tuco.addresses import InvalidAddress, normalize_email, normalize_phone, region_for_country_code
from tuco.db import insert_or_nothing
from tuco.errors import BadRequest, NotFound
from tuco.ids import new_id
from tuco.logging import get_logger
from tuco.models import Workspace

log = get_logger(__name__)

MAX_LEADS_PER_REQUEST = 1000
MAX_CSV_BYTES = 10 * 1024 * 1024
MAX_CSV_COLUMNS = 200
BATCH_SIZE = 500
MAX_CUSTOM_FIELDS = 100
MAX_CUSTOM_KEY = 100
MAX_CUSTOM_JSON = 16 * 1024
MAX_CUSTOM_DEPTH = 10
MAX_SOURCE = 50

TEXT_FIELDS = {"firstName": ("first_name", 200), "lastName": ("last_name", 200),
               "companyName": ("company_name", 200), "jobTitle": ("job_title", 200), "notes": ("notes", 10_000)}
PHONE_FIELDS = {"phone": "phone", "altPhone1": "alt_phone1", "altPhone2": "alt_phone2", "altPhone3": "alt_phone3"}
EMAIL_FIELDS = {"email": "email", "altEmail1": "alt_email1", "altEmail2": "alt_email2", "altEmail3": "alt_email3"}
MAX_PHONE_INPUT = 64
MAX_EMAIL_INPUT = 254
LEAD_INPUT_FIELDS = (*TEXT_FIELDS, *PHONE_FIELDS, *EMAIL_FIELDS, "customFields")
NO_CONTACT = "Lead must have a phone or an email"


# --- text hygiene -------------------------------------------------------------------------------------------

def clean_text(value: str) -> str:
    """PostgreSQL refuses NUL and unpaired surrogates; neither carries meaning in a lead, so drop them."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value


def clean_json(value: Any, where: str, depth: int = 0) -> Any:
    """customFields: any JSON, with strings cleaned and non-finite numbers (1e400 → inf) refused."""
    if depth > MAX_CUSTOM_DEPTH:
        raise BadRequest(f"{where} is nested too deeply (at most {MAX_CUSTOM_DEPTH} levels)",
                         code="VALIDATION_ERROR")
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise BadRequest(f"{where} must contain only finite numbers", code="VALIDATION_ERROR")
    if isinstance(value, dict):
        return {clean_text(str(k)): clean_json(v, where, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_json(v, where, depth + 1) for v in value]
    return value


def phone_region(raw: Any) -> str:
    """`defaultCountryCode` ('+1', '44', 'GB') → the phonenumbers region used for numbers without a +."""
    if raw is None or raw == "":
        return "US"
    region = region_for_country_code(raw) if isinstance(raw, str) and len(raw) <= 8 else None
    if region is None or region not in phonenumbers.SUPPORTED_REGIONS:
        raise BadRequest("Invalid defaultCountryCode: use a calling code like +1 or +44", code="INVALID_COUNTRY_CODE")
    return region


def parse_source(raw: Any, default: str) -> str:
    if raw is None or raw == "":
        return default
    if not isinstance(raw, str) or len(raw) > MAX_SOURCE:
        raise BadRequest(f"source must be a string of at most {MAX_SOURCE} characters", code="VALIDATION_ERROR")
    return clean_text(raw.strip()) or default


# --- one row ------------------------------------------------------------------------------------------------

@dataclass
class LeadRow:
    """A validated row: model attribute → value, contacts normalized."""

    values: dict[str, Any]
    input: dict[str, Any]

    @property
    def phone(self) -> str:
        return self.values.get("phone", "")

    @property
    def email(self) -> str:
        return self.values.get("email", "")


def check_lead_types(raw: Any, where: str) -> dict[str, Any]:
    """Structural checks on one JSON lead (types and lengths); raise BadRequest for the whole request."""
    if not isinstance(raw, dict):
        raise BadRequest(f"{where or 'lead'} must be an object", code="VALIDATION_ERROR")
    checked: dict[str, Any] = {}
    for key in LEAD_INPUT_FIELDS:
        value = raw.get(key)
        if value is None:
            continue
        if key == "customFields":
            checked[key] = check_custom_fields(value, f"{where}.customFields" if where else key)
            continue
        name = f"{where}.{key}" if where else key
        if not isinstance(value, str):
            raise BadRequest(f"{name} must be a string", code="VALIDATION_ERROR")
        limit = TEXT_FIELDS[key][1] if key in TEXT_FIELDS else (
            MAX_PHONE_INPUT if key in PHONE_FIELDS else MAX_EMAIL_INPUT)
        if len(value) > limit:
            raise BadRequest(f"{name} must be at most {limit} characters", code="VALIDATION_ERROR")
        checked[key] = clean_text(value)
    return checked


def check_custom_fields(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadRequest(f"{where} must be an object", code="VALIDATION_ERROR")
    if len(value) > MAX_CUSTOM_FIELDS:
        raise BadRequest(f"{where} may have at most {MAX_CUSTOM_FIELDS} keys", code="VALIDATION_ERROR")
    if any(len(k) > MAX_CUSTOM_KEY for k in value):
        raise BadRequest(f"{where} keys must be at most {MAX_CUSTOM_KEY} characters", code="VALIDATION_ERROR")
    cleaned = clean_json(value, where)
    if len(json.dumps(cleaned, ensure_ascii=False)) > MAX_CUSTOM_JSON:
        raise BadRequest(f"{where} must be at most {MAX_CUSTOM_JSON // 1024} KB as JSON", code="VALIDATION_ERROR")
    return cleaned


def _short(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "…")


def normalize_contact(key: str, value: str, region: str) -> str:
    """One phone or email field → its stored form; InvalidAddress with a readable sentence otherwise."""
    if key in PHONE_FIELDS:
        if len(value) > MAX_PHONE_INPUT:
            raise InvalidAddress(f"Invalid {key}: {_short(value)} is not a valid phone number")
        try:
            return normalize_phone(value, default_region=region)
        except InvalidAddress:
            raise InvalidAddress(f"Invalid {key}: {_short(value)} is not a valid phone number")
    if len(value) > MAX_EMAIL_INPUT:
        raise InvalidAddress(f"Invalid {key}: {_short(value)} is not a valid email address")
    try:
        return normalize_email(value)
    except InvalidAddress:
        raise InvalidAddress(f"Invalid {key}: {_short(value)} is not a valid email address")


def build_row(fields: dict[str, Any], region: str) -> LeadRow | str:
    """Value-level validation of one lead's fields (camelCase keys); the row, or why it is skipped."""
    values: dict[str, Any] = {}
    for key, (attr, limit) in TEXT_FIELDS.items():
        text = (fields.get(key) or "").strip()
        if len(text) > limit:
            return f"{key} must be at most {limit} characters"
        if text:
            values[attr] = text
    for key, attr in (*PHONE_FIELDS.items(), *EMAIL_FIELDS.items()):
        raw = (fields.get(key) or "").strip()
        if not raw:
            continue
        try:
            values[attr] = normalize_contact(key, raw, region)
        except InvalidAddress as exc:
            return str(exc)
    if not values.get("phone") and not values.get("email"):
        return NO_CONTACT
    custom = fields.get("customFields")
    if custom:
        if len(json.dumps(custom, ensure_ascii=False)) > MAX_CUSTOM_JSON:
            return f"customFields must be at most {MAX_CUSTOM_JSON // 1024} KB as JSON"
        values["custom_fields"] = custom
    return LeadRow(values=values, input=fields)


# --- saving -------------------------------------------------------------------------------------------------

@dataclass
class Outcome:
    """What happened to one valid row: a new lead, or the existing lead it duplicated."""

    position: int
    row: LeadRow
    lead_id: str
    created: bool
    existing: Lead | None = None


_INSERT_FIELDS = list(Lead._meta.concrete_fields)
_TIMESTAMPS = {"created_at", "updated_at"}


@functools.cache
def _insert_sql() -> str:
    # One array parameter per column, unnested into rows: a 500-row batch is 24 parameters, not 12,000,
    # which keeps both psycopg and the planner fast on large imports.
    columns = ", ".join(f'"{f.column}"' for f in _INSERT_FIELDS)
    arrays = ", ".join(f"%s::{'text' if f.get_internal_type() == 'JSONField' else f.db_type(connection)}[]"
                       for f in _INSERT_FIELDS)
    names = [f"c{i}" for i in range(len(_INSERT_FIELDS))]
    select = ", ".join(f"{name}::jsonb" if f.get_internal_type() == "JSONField" else name
                       for name, f in zip(names, _INSERT_FIELDS, strict=True))
    return (f'INSERT INTO "{Lead._meta.db_table}" ({columns}) SELECT {select} FROM unnest({arrays}) '
            f'AS t({", ".join(names)}) ON CONFLICT DO NOTHING RETURNING "id"')


_DEFAULTS = {f.attname: f.get_default() for f in _INSERT_FIELDS}


def _insert_many(rows: list[tuple[str, LeadRow]], *, workspace_id: str, list_id: str, source: str) -> set[str]:
    """One INSERT … ON CONFLICT DO NOTHING RETURNING id for (new id, row) pairs; the ids that went in."""
    if not rows:
        return set()
    now = timezone.now()
    fixed = {"workspace_id": workspace_id, "list_id": list_id, "source": source, "created_at": now,
             "updated_at": now}
    columns: list[list[Any]] = []
    for f in _INSERT_FIELDS:
        name = f.attname
        if name == "id":
            columns.append([lead_id for lead_id, _ in rows])
        elif name in fixed:
            columns.append([fixed[name]] * len(rows))
        elif f.get_internal_type() == "JSONField":
            columns.append([json.dumps(row.values.get(name, {}), ensure_ascii=False) for _, row in rows])
        else:
            columns.append([row.values.get(name, _DEFAULTS[name]) for _, row in rows])
    connection.ensure_connection()
    # A plain psycopg cursor binds the arrays server-side (binary); Django's client-side binding would
    # quote every value into the SQL text, which dominates the cost of a large import.
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(_insert_sql(), columns)
        return {row[0] for row in cursor.fetchall()}


def _existing_in_list(list_id: str, rows: list[LeadRow]) -> tuple[dict[str, Lead], dict[str, Lead]]:
    """The leads of the list holding these rows' phones / emails: one probe of each unique index."""
    phones = {r.phone for r in rows if r.phone}
    emails = {r.email for r in rows if r.email}
    fields = ("id", "first_name", "last_name", "phone", "email")
    by_phone: dict[str, Lead] = {}
    by_email: dict[str, Lead] = {}
    # `<> ''` repeats the partial indexes' condition so the planner can use them for long IN lists.
    if phones:
        for lead in Lead.objects.filter(list_id=list_id, phone__in=phones).exclude(phone="").only(*fields):
            by_phone[lead.phone] = lead
    if emails:
        for lead in Lead.objects.filter(list_id=list_id, email__in=emails).exclude(email="").only(*fields):
            by_email[lead.email] = lead
    return by_phone, by_email


class LeadSaver:
    """Feeds valid rows into one list in batches; reports an Outcome per row through `on_outcome`."""

    def __init__(self, *, workspace: Workspace, lead_list: LeadList, source: str,
                 on_outcome: Callable[[Outcome], None], batch_size: int = BATCH_SIZE) -> None:
        self.workspace = workspace
        self.lead_list = lead_list
        self.source = source
        self.on_outcome = on_outcome
        self.batch_size = batch_size
        self._pending: list[tuple[int, LeadRow]] = []

    def add(self, position: int, row: LeadRow) -> None:
        self._pending.append((position, row))
        if len(self._pending) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        batch, self._pending = self._pending, []
        if batch:
            self._save_batch(batch)

    def _lead(self, row: LeadRow) -> Lead:
        return Lead(workspace=self.workspace, list=self.lead_list, source=self.source, **row.values)

    def _save_batch(self, batch: list[tuple[int, LeadRow]]) -> None:
        # Rows sharing a phone or email with an earlier row of this batch stay out of the INSERT: they
        # resolve to whichever lead holds that contact afterwards, so the first occurrence wins.
        seen: set[str] = set()
        first: list[tuple[int, LeadRow, str]] = []
        later: list[tuple[int, LeadRow]] = []
        for position, row in batch:
            keys = {k for k in (f"p:{row.phone}" if row.phone else "", f"e:{row.email}" if row.email else "") if k}
            if keys & seen:
                later.append((position, row))
            else:
                seen |= keys
                first.append((position, row, new_id()))
        # A stable lock order keeps two concurrent imports of overlapping rows from deadlocking each other.
        ordered = sorted(first, key=lambda item: (item[1].phone, item[1].email))
        inserted = self._insert_with_retry([(lead_id, row) for _, row, lead_id in ordered])
        outcomes: dict[int, Outcome] = {}
        unresolved: list[tuple[int, LeadRow]] = list(later)
        for position, row, lead_id in first:
            if lead_id in inserted:
                outcomes[position] = Outcome(position, row, lead_id, created=True)
            else:
                unresolved.append((position, row))
        for attempt in range(3):
            if not unresolved:
                break
            by_phone, by_email = _existing_in_list(self.lead_list.pk, [row for _, row in unresolved])
            still: list[tuple[int, LeadRow]] = []
            for position, row in unresolved:
                existing = by_phone.get(row.phone) if row.phone else None
                existing = existing or (by_email.get(row.email) if row.email else None)
                if existing is not None:
                    outcomes[position] = Outcome(position, row, existing.pk, created=False, existing=existing)
                elif attempt < 2:
                    # The lead it collided with was deleted in between, or it only matched a row of this
                    # batch that itself was a duplicate: insert it on its own.
                    lead = self._lead(row)
                    if insert_or_nothing(lead):
                        outcomes[position] = Outcome(position, row, lead.pk, created=True)
                    else:
                        still.append((position, row))
                else:
                    still.append((position, row))
            unresolved = still
        for position, row in unresolved:  # pragma: no cover - needs a delete racing every retry
            raise RuntimeError(f"lead row {position} could not be saved or matched: {row.phone or row.email}")
        for position in sorted(outcomes):
            self.on_outcome(outcomes[position])

    def _insert_with_retry(self, rows: list[tuple[str, LeadRow]]) -> set[str]:
        for attempt in range(3):
            try:
                with transaction.atomic():
                    return _insert_many(rows, workspace_id=self.workspace.pk, list_id=self.lead_list.pk,
                                        source=self.source)
            except (OperationalError, psycopg.errors.DeadlockDetected) as exc:  # the statement rolled back whole
                cause = exc if isinstance(exc, psycopg.Error) else exc.__cause__
                if getattr(cause, "sqlstate", None) != "40P01" or attempt == 2:
                    raise
                log.warning("leads.insert.deadlock_retry", attempt=attempt + 1)
        raise AssertionError("unreachable")


def existing_summary(lead: Lead) -> dict[str, Any]:
    return {"_id": lead.pk, "firstName": lead.first_name or None, "lastName": lead.last_name or None,
            "email": lead.email or None, "phone": lead.phone or None}


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
    if not isinstance(data, dict):
        raise BadRequest("Request body must be a JSON object", code="INVALID_BODY")
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
    if ghl is not None and (not isinstance(ghl, str) or len(ghl) > 200):
        raise BadRequest("ghlLocationId must be a string of at most 200 characters", code="VALIDATION_ERROR")
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


# --- CSV ----------------------------------------------------------------------------------------------------

HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "firstName": ("firstname", "first", "fname", "givenname", "forename"),
    "lastName": ("lastname", "last", "lname", "surname", "familyname"),
    "name": ("name", "fullname", "contactname", "leadname"),
    "email": ("email", "emailaddress", "primaryemail", "mail", "email1", "emailaddress1", "workemail"),
    "phone": ("phone", "phonenumber", "primaryphone", "mobile", "mobilephone", "mobilenumber", "cell",
              "cellphone", "telephone", "tel", "phone1", "phonenumber1", "primaryphonenumber"),
    "altPhone1": ("altphone1", "altphone", "alternatephone", "alternatephone1", "alternativephone",
                  "additionalphone", "additionalphone1", "secondaryphone", "phone2", "otherphone"),
    "altPhone2": ("altphone2", "alternatephone2", "additionalphone2", "phone3"),
    "altPhone3": ("altphone3", "alternatephone3", "additionalphone3", "phone4"),
    "altEmail1": ("altemail1", "altemail", "alternateemail", "alternateemail1", "alternativeemail",
                  "additionalemail", "additionalemail1", "secondaryemail", "email2", "otheremail"),
    "altEmail2": ("altemail2", "alternateemail2", "additionalemail2", "email3"),
    "altEmail3": ("altemail3", "alternateemail3", "additionalemail3", "email4"),
    "companyName": ("company", "companyname", "organization", "organisation", "business", "businessname",
                    "account", "accountname", "employer"),
    "jobTitle": ("jobtitle", "title", "position", "role", "positionrole", "designation", "occupation"),
    "notes": ("notes", "note", "comments", "comment", "description"),
}
_ALIAS_TO_FIELD = {alias: name for name, aliases in HEADER_ALIASES.items() for alias in aliases}


def header_field(header: str) -> str | None:
    """'First Name', 'first_name', 'firstName', 'FIRSTNAME' → 'firstName'; None → a custom field."""
    return _ALIAS_TO_FIELD.get(re.sub(r"[^a-z0-9]", "", header.lower()))


@dataclass
class ImportResult:
    lead_list: LeadList | None
    total: int = 0
    saved: int = 0
    duplicates: int = 0
    invalid: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    errors_truncated: bool = False

    def record_error(self, row: int, error: str, max_errors: int | None) -> None:
        self.invalid += 1
        if max_errors is None or len(self.errors) < max_errors:
            self.errors.append({"row": row, "error": error})
        else:
            self.errors_truncated = True


def _sniff_encoding(binary: IO[bytes]) -> str:
    """UTF-8 (BOM or not), UTF-16 with a BOM (Excel's "Unicode text"), else Windows-1252 (Excel's CSV)."""
    binary.seek(0)
    head = binary.read(4)
    binary.seek(0)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while chunk := binary.read(1 << 16):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "cp1252"
    finally:
        binary.seek(0)
    return "utf-8-sig"


def _delimiter(header_line: str) -> str:
    unquoted = re.sub(r'"[^"]*"', "", header_line)
    counts = {d: unquoted.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


class _CsvFile:
    """Iterates a CSV upload as (spreadsheet row number, {header: value}) without loading it."""

    def __init__(self, binary: IO[bytes]) -> None:
        self.binary = binary
        self.encoding = _sniff_encoding(binary)
        self.headers: list[str] = []
        self.mapping: list[str | None] = []  # per column: lead field, None = custom field, "" = ignored

    def records(self) -> Iterator[tuple[int, dict[str, Any]]]:
        self.binary.seek(0)
        text = io.TextIOWrapper(self.binary, encoding=self.encoding, errors="replace", newline="")
        try:
            first = text.readline()
            while first and not first.strip():
                first = text.readline()
            if not first:
                raise BadRequest("CSV file is empty", code="INVALID_CSV")
            reader = csv.reader(itertools.chain([first], text), delimiter=_delimiter(first))
            row_number = 1
            try:
                self._read_header(next(reader))
                for values in reader:
                    row_number += 1
                    if not any(v.strip() for v in values):
                        continue
                    yield row_number, self._fields(values)
            except csv.Error as exc:
                raise BadRequest(f"Could not parse CSV at row {row_number + 1}: {exc}", code="INVALID_CSV")
        finally:
            text.detach()  # leave the caller's file open for the second pass

    def _read_header(self, header: list[str]) -> None:
        if len(header) > MAX_CSV_COLUMNS:
            raise BadRequest(f"CSV has {len(header)} columns; at most {MAX_CSV_COLUMNS} are supported",
                             code="INVALID_CSV")
        self.headers = [clean_text(h).strip() for h in header]
        taken: set[str] = set()
        self.mapping = []
        for h in self.headers:
            name = header_field(h) if h else ""
            if name and name in taken:
                name = None  # a second "Phone" column keeps its data as a custom field
            if name:
                taken.add(name)
            self.mapping.append(name)
        contact = {"phone", "email", *PHONE_FIELDS, *EMAIL_FIELDS}
        if not taken & contact:
            raise BadRequest("CSV needs a phone or email column (e.g. 'Phone', 'Email')", code="INVALID_CSV")

    def _fields(self, values: list[str]) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        custom: dict[str, str] = {}
        for column, raw in enumerate(values[: len(self.headers)]):
            value = clean_text(raw).strip()
            name = self.mapping[column]
            if not value or name == "":
                continue
            if name is None:
                custom[self.headers[column][:MAX_CUSTOM_KEY]] = value
            else:
                fields[name] = value
        full_name = fields.pop("name", "")
        if full_name and not fields.get("firstName") and not fields.get("lastName"):
            first, _, last = full_name.partition(" ")
            fields["firstName"], fields["lastName"] = first, last.strip()
        if custom:
            fields["customFields"] = custom
        return fields


def csv_import(*, workspace: Workspace, file: IO[bytes], list_id: str = "", list_name: str = "",
               region: str = "US", source: str = "csv", max_errors: int | None = 1000,
               on_progress: Callable[[int, int], None] | None = None) -> ImportResult:
    """Import a CSV (binary, seekable, ≤ 10 MB checked by the caller) into one list.

    Pass 1 only parses (fast): a file that is unreadable or has no rows is refused whole before anything is
    written. Pass 2 validates each row and saves in batches; the target list is created only when the first
    valid row is about to be saved, so a file without a single valid row writes nothing (BadRequest).
    `on_progress(done, total)` is called every BATCH_SIZE rows and at the end.
    """
    csv_file = _CsvFile(file)
    total = sum(1 for _ in csv_file.records())
    if total == 0:
        raise BadRequest("CSV file has a header but no rows", code="INVALID_CSV")
    check_list_exists(workspace=workspace, list_id=list_id)
    result = ImportResult(lead_list=None, total=total)

    def count(outcome: Outcome) -> None:
        if outcome.created:
            result.saved += 1
        else:
            result.duplicates += 1

    saver: LeadSaver | None = None
    for processed, (row_number, fields) in enumerate(csv_file.records(), start=1):
        built = build_row(fields, region)
        if isinstance(built, str):
            result.record_error(row_number, built, max_errors)
        else:
            if saver is None:
                result.lead_list = resolve_list(workspace=workspace, list_id=list_id, list_name=list_name)
                saver = LeadSaver(workspace=workspace, lead_list=result.lead_list, source=source, on_outcome=count)
            built.input = {}  # an import reports counts, not echoes
            saver.add(row_number, built)
        if on_progress and processed % BATCH_SIZE == 0:
            on_progress(processed, total)
    if saver is None:
        raise BadRequest(f"No valid leads in the file: all {total} rows were invalid", code="INVALID_LEADS",
                         invalidCount=result.invalid, errors=result.errors)
    saver.flush()
    if on_progress:
        on_progress(total, total)
    log.info("leads.imported", listId=saver.lead_list.pk, rows=total, saved=result.saved,
             duplicates=result.duplicates, invalid=result.invalid, encoding=csv_file.encoding)
    return result
