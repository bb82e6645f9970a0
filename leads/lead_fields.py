"""One lead's fields as the API and CSV give them: limits, text hygiene, type checks, normalized contacts."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import phonenumbers

from tuco.addresses import InvalidAddress, normalize_email, normalize_phone, region_for_country_code
from tuco.errors import BadRequest

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
               "companyName": ("company_name", 200), "jobTitle": ("job_title", 200), "notes": ("notes", 10_000),
               # CRM links (leads.models.CRM_FIELDS)
               "ghlContactId": ("ghl_contact_id", 100), "ghlLocationId": ("ghl_location_id", 100),
               "hsPortalId": ("hs_portal_id", 100), "hsContactId": ("hs_contact_id", 100)}
PHONE_FIELDS = {"phone": "phone", "altPhone1": "alt_phone1", "altPhone2": "alt_phone2", "altPhone3": "alt_phone3"}
EMAIL_FIELDS = {"email": "email", "altEmail1": "alt_email1", "altEmail2": "alt_email2", "altEmail3": "alt_email3"}
MAX_PHONE_INPUT = 64
MAX_EMAIL_INPUT = 254
LEAD_INPUT_FIELDS = (*TEXT_FIELDS, *PHONE_FIELDS, *EMAIL_FIELDS, "customFields", "tags")
MAX_TAGS = 50
MAX_TAG = 100
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
        if key == "tags":
            checked[key] = check_tags(value, f"{where}.tags" if where else key)
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


def check_tags(value: Any, where: str) -> list[str]:
    """An array of strings, or one comma-separated string (a CSV column): lowercased, unique, sorted."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(tag, str) for tag in items):
        raise BadRequest(f"{where} must be an array of strings", code="VALIDATION_ERROR")
    tags = sorted({clean_text(tag).strip().lower() for tag in items if tag.strip()})
    if len(tags) > MAX_TAGS or any(len(tag) > MAX_TAG for tag in tags):
        raise BadRequest(f"{where}: at most {MAX_TAGS} tags of at most {MAX_TAG} characters",
                         code="VALIDATION_ERROR")
    return tags


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
    if fields.get("tags"):
        values["tags"] = fields["tags"]
    custom = fields.get("customFields")
    if custom:
        if len(json.dumps(custom, ensure_ascii=False)) > MAX_CUSTOM_JSON:
            return f"customFields must be at most {MAX_CUSTOM_JSON // 1024} KB as JSON"
        values["custom_fields"] = custom
    return LeadRow(values=values, input=fields)
