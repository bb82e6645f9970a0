"""Parse and validate a POST /api/messages body into a `SendRequest`.

Only checks that need no database live here; the order follows the spec's
error table so the first applicable spec text is the one returned. Unknown
fields are ignored. Every failure is a 400 in the `{"error", "code"?}` shape
and happens before anything is written.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from leads.models import CRM_FIELDS
from tuco.addresses import InvalidAddress, normalize_email, normalize_phone
from tuco.body_fields import optional_string, require_json_object
from tuco.errors import BadRequest
from tuco.timefmt import parse_iso

MESSAGE_TYPES = ("imessage", "sms", "email")
MAX_ATTACHMENTS = 2
# Longest body accepted per channel (characters, before personalization).
# SMS: Twilio's 1,600-character limit; iMessage and email are generous but bounded.
MAX_BODY_CHARS = {"imessage": 20_000, "sms": 1_600, "email": 100_000}
MAX_SHORT_TEXT = 200
HHMM_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
DAY_NAMES = {
    "sun": 0, "sunday": 0, "mon": 1, "monday": 1, "tue": 2, "tues": 2, "tuesday": 2,
    "wed": 3, "wednesday": 3, "thu": 4, "thur": 4, "thurs": 4, "thursday": 4,
    "fri": 5, "friday": 5, "sat": 6, "saturday": 6,
}
ALT_PHONE_KEYS = ("altPhone1", "altPhone2", "altPhone3")
ALT_EMAIL_KEYS = ("altEmail1", "altEmail2", "altEmail3")

# The spec's own texts (errors-and-rate-limits.txt, send-message.txt, attachments.txt).
EMPTY_MESSAGE = "Message and attachmentUrls cannot both be empty"
INVALID_MESSAGE_TYPE = "Invalid messageType. Must be email, sms, or imessage"
NO_ACTIVE_LINES = "No active lines in workspace..."
RECIPIENT_REQUIRED = "Either recipientEmail or recipientPhone is required..."
LEAD_NOT_FOUND = "Lead not found or access denied"
ATTACHMENTS_NOT_ARRAY = "attachmentUrls must be an array"
TOO_MANY_ATTACHMENTS = "Maximum 2 attachments per message"


@dataclass
class SendRequest:
    body: str
    message_type: str
    recipient_phone: str = ""
    recipient_email: str = ""
    recipient_name: str = ""
    from_line_id: str = ""
    lead_id: str = ""
    alt_phones: dict[int, str] = field(default_factory=dict)  # slot (1..3) → E.164
    alt_emails: dict[int, str] = field(default_factory=dict)
    scheduled_date: datetime | None = None
    timezone: str = ""
    send_window_start: str = ""
    send_window_end: str = ""
    allowed_days_of_week: list[int] | None = None
    send_fallback_sms_on_failed: bool | None = None
    force_fallback: bool = False
    batch_id: str = ""
    correlation_id: str = ""
    attachment_urls: list[str] = field(default_factory=list)
    attachment_names: list[str] = field(default_factory=list)
    subject: str = ""
    crm: dict[str, str] = field(default_factory=dict)  # CRM link column → value given in the body


def _bad(error: str, code: str | None = None) -> BadRequest:
    return BadRequest(error, code=code)


def _string(data: dict[str, Any], key: str, *, max_length: int = MAX_SHORT_TEXT) -> str:
    return optional_string(data, key, max_length=max_length)


def _boolean(data: dict[str, Any], key: str) -> bool | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise _bad(f"{key} must be a boolean (true or false)", "VALIDATION_ERROR")
    return value


def _phone(key: str, raw: str) -> str:
    try:
        return normalize_phone(raw)
    except InvalidAddress:
        raise _bad(f"{key} must be a valid phone number in E.164 format (e.g. +12025551234)", "INVALID_PHONE")


def _email(key: str, raw: str) -> str:
    try:
        return normalize_email(raw)
    except InvalidAddress:
        raise _bad(f"{key} must be a valid email address", "INVALID_EMAIL")


def parse_days(value: Any) -> list[int]:
    """allowedDaysOfWeek: numbers 0–6 (0 = Sunday) or day names, in any mix."""
    if not isinstance(value, list) or not value:
        raise _bad("allowedDaysOfWeek must be a non-empty array of days (0-6, 0 = Sunday, or day names)",
                   "INVALID_DAYS")
    days: set[int] = set()
    for item in value:
        if isinstance(item, bool):
            day = None
        elif isinstance(item, int):
            day = item if 0 <= item <= 6 else None
        elif isinstance(item, str) and item.strip().isdigit():
            day = int(item.strip()) if 0 <= int(item.strip()) <= 6 else None
        elif isinstance(item, str):
            day = DAY_NAMES.get(item.strip().lower())
        else:
            day = None
        if day is None:
            raise _bad(f"allowedDaysOfWeek contains {item!r}: use 0-6 (0 = Sunday) or day names",
                       "INVALID_DAYS")
        days.add(day)
    return sorted(days)


def parse_attachments(data: dict[str, Any]) -> tuple[list[str], list[str]]:
    urls = data.get("attachmentUrls")
    if urls is None:
        urls = []
    if not isinstance(urls, list):
        raise _bad(ATTACHMENTS_NOT_ARRAY)
    if len(urls) > MAX_ATTACHMENTS:
        raise _bad(TOO_MANY_ATTACHMENTS)
    for url in urls:
        if not isinstance(url, str) or urlsplit(url.strip()).scheme not in ("http", "https") \
                or not urlsplit(url.strip()).netloc:
            raise _bad("attachmentUrls must contain http(s) URLs", "INVALID_ATTACHMENT_URL")
    names = data.get("attachmentNames")
    if names is None:
        names = []
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise _bad("attachmentNames must be an array of strings", "VALIDATION_ERROR")
    if len(names) > len(urls):
        raise _bad("attachmentNames has more names than attachmentUrls", "VALIDATION_ERROR")
    return [u.strip() for u in urls], [n.strip()[:255] for n in names]


def parse_schedule(data: dict[str, Any]) -> tuple[str, str, str, list[int] | None]:
    """(timezone, sendWindowStart, sendWindowEnd, allowedDaysOfWeek): the same rules for a send and a campaign."""
    tz = _string(data, "timezone", max_length=64)
    if tz:
        try:
            zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise _bad(f"timezone must be an IANA time zone (e.g. America/New_York), got {tz!r}",
                       "INVALID_TIMEZONE")
    window = {}
    for key in ("sendWindowStart", "sendWindowEnd"):
        value = _string(data, key, max_length=5)
        if value and not HHMM_RE.match(value):
            raise _bad(f"{key} must be HH:mm (24-hour, e.g. 09:00)", "INVALID_TIME_WINDOW")
        window[key] = value
    start, end = window["sendWindowStart"], window["sendWindowEnd"]
    if (start or end) and not tz:
        raise _bad("timezone is required when sendWindowStart or sendWindowEnd is set", "TIMEZONE_REQUIRED")
    if bool(start) != bool(end):
        raise _bad("sendWindowStart and sendWindowEnd must be given together", "INVALID_TIME_WINDOW")
    days = parse_days(data["allowedDaysOfWeek"]) if data.get("allowedDaysOfWeek") is not None else None
    return tz, start, end, days


def parse_send_request(data: Any) -> SendRequest:
    require_json_object(data)

    raw_message = data.get("message")
    if raw_message is not None and not isinstance(raw_message, str):
        raise _bad("message must be a string", "VALIDATION_ERROR")
    body = raw_message or ""
    attachment_urls, attachment_names = parse_attachments(data)
    if not body.strip() and not attachment_urls:
        raise _bad(EMPTY_MESSAGE)

    message_type = data.get("messageType")
    if message_type is None:
        message_type = "imessage"
    if message_type not in MESSAGE_TYPES:
        raise _bad(INVALID_MESSAGE_TYPE)
    if len(body) > MAX_BODY_CHARS[message_type]:
        raise _bad(f"message is too long for {message_type} (max {MAX_BODY_CHARS[message_type]} characters)",
                   "MESSAGE_TOO_LONG")

    request = SendRequest(body=body, message_type=message_type,
                          attachment_urls=attachment_urls, attachment_names=attachment_names)

    phone = _string(data, "recipientPhone", max_length=64)
    request.recipient_phone = _phone("recipientPhone", phone) if phone else ""
    email = _string(data, "recipientEmail", max_length=254)
    request.recipient_email = _email("recipientEmail", email) if email else ""
    request.recipient_name = _string(data, "recipientName")
    for slot, key in enumerate(ALT_PHONE_KEYS, start=1):
        value = _string(data, key, max_length=64)
        if value:
            request.alt_phones[slot] = _phone(key, value)
    for slot, key in enumerate(ALT_EMAIL_KEYS, start=1):
        value = _string(data, key, max_length=254)
        if value:
            request.alt_emails[slot] = _email(key, value)

    request.from_line_id = _string(data, "fromLineId", max_length=64)
    request.lead_id = _string(data, "leadId", max_length=64)
    request.batch_id = _string(data, "batchId")
    request.subject = _string(data, "subject")
    request.correlation_id = _string(data, "correlationId")
    for key, column in CRM_FIELDS.items():
        value = _string(data, key, max_length=100)
        if value:
            request.crm[column] = value

    scheduled = data.get("scheduledDate")
    if scheduled not in (None, ""):
        parsed = parse_iso(scheduled) if isinstance(scheduled, str) else None
        if parsed is None:
            raise _bad("scheduledDate must be an ISO 8601 timestamp (e.g. 2025-10-15T14:30:00Z)",
                       "INVALID_SCHEDULED_DATE")
        request.scheduled_date = parsed

    (request.timezone, request.send_window_start, request.send_window_end,
     request.allowed_days_of_week) = parse_schedule(data)

    request.send_fallback_sms_on_failed = _boolean(data, "sendFallbackSmsOnFailed")
    request.force_fallback = bool(_boolean(data, "forceFallback"))
    return request
