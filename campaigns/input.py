"""Parse and validate campaign bodies (POST / PATCH /api/campaigns): every failure is a 400 in the
`{"error", "code"}` shape, raised before anything is written. Unknown fields are ignored.

Steps: `[{message, channel?, subject?, waitSeconds? | wait: {value, unit}, onlyIfNoReply?, stopConditions?,
attachmentUrls?, attachmentNames?}]`. A template naming a variable no lead or line can fill is refused
here, not discovered at send time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from campaigns.models import Campaign, Step
from leads.lead_fields import build_row, check_lead_types, phone_region
from messaging.personalize import CAMPAIGN_VARIABLES, unknown_variables
from messaging.send_input import MAX_BODY_CHARS, parse_attachments, parse_schedule
from tuco.body_fields import optional_string, require_json_object
from tuco.errors import BadRequest
from tuco.ids import is_object_id

MAX_STEPS = 20
MAX_WAIT_SECONDS = 365 * 24 * 3600
WAIT_UNITS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
STOP_CONDITIONS = ("replied", "replied_keyword", "has_tag", "lacks_tag", "contacted_before")
MAX_KEYWORDS = 20


def _bad(error: str, code: str = "VALIDATION_ERROR") -> BadRequest:
    return BadRequest(error, code=code)


@dataclass
class StepInput:
    body: str
    channel: str = Step.Channel.IMESSAGE
    subject: str = ""
    wait_seconds: int = 0
    only_if_no_reply: bool = False
    stop_conditions: list[dict[str, Any]] = field(default_factory=list)
    attachment_urls: list[str] = field(default_factory=list)
    attachment_names: list[str] = field(default_factory=list)

    def as_fields(self) -> dict[str, Any]:
        return {"body": self.body, "channel": self.channel, "subject": self.subject,
                "wait_seconds": self.wait_seconds, "only_if_no_reply": self.only_if_no_reply,
                "stop_conditions": self.stop_conditions, "attachment_urls": self.attachment_urls,
                "attachment_names": self.attachment_names}


@dataclass
class CampaignInput:
    """The fields a body gave (absent ones are not in `fields`; `steps` / `line_ids` None when absent)."""

    fields: dict[str, Any] = field(default_factory=dict)
    steps: list[StepInput] | None = None
    line_ids: list[str] | None = None
    list_id: str | None = None  # "" clears (API-only mode)
    has_list: bool = False


def _wait(raw: dict[str, Any], where: str) -> int:
    seconds = raw.get("waitSeconds")
    wait = raw.get("wait")
    if seconds is None and isinstance(wait, dict):
        unit = wait.get("unit", "seconds")
        value = wait.get("value")
        if unit not in WAIT_UNITS or isinstance(value, bool) or not isinstance(value, int | float):
            raise _bad(f"{where}.wait must be {{value: number, unit: seconds|minutes|hours|days}}")
        seconds = value * WAIT_UNITS[unit]
    elif wait is not None and seconds is None:
        raise _bad(f"{where}.wait must be {{value, unit}}")
    if seconds is None:
        return 0
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 <= seconds <= MAX_WAIT_SECONDS:
        raise _bad(f"{where}.waitSeconds must be a number of seconds between 0 and {MAX_WAIT_SECONDS}")
    return int(seconds)


def _stop_conditions(raw: Any, where: str) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise _bad(f"{where}.stopConditions must be an array")
    conditions = []
    for item in raw:
        kind = item.get("type") if isinstance(item, dict) else item
        if kind not in STOP_CONDITIONS:
            raise _bad(f"{where}.stopConditions: unknown condition {kind!r} (use {', '.join(STOP_CONDITIONS)})")
        condition: dict[str, Any] = {"type": kind}
        if kind == "replied_keyword":
            keywords = item.get("keywords") if isinstance(item, dict) else None
            if not isinstance(keywords, list) or not keywords or len(keywords) > MAX_KEYWORDS or not all(
                    isinstance(k, str) and k.strip() and len(k) <= 100 for k in keywords):
                raise _bad(f"{where}.stopConditions: replied_keyword needs keywords (1-{MAX_KEYWORDS} strings)")
            condition["keywords"] = [k.strip().lower() for k in keywords]
        if kind in ("has_tag", "lacks_tag"):
            tag = item.get("tag") if isinstance(item, dict) else None
            if not isinstance(tag, str) or not tag.strip() or len(tag) > 100:
                raise _bad(f"{where}.stopConditions: {kind} needs a tag")
            condition["tag"] = tag.strip().lower()
        conditions.append(condition)
    return conditions


def parse_step(raw: Any, index: int) -> StepInput:
    where = f"steps[{index}]"
    if not isinstance(raw, dict):
        raise _bad(f"{where} must be an object")
    body = raw.get("message", raw.get("body"))
    if body is not None and not isinstance(body, str):
        raise _bad(f"{where}.message must be a string")
    body = body or ""
    urls, names = parse_attachments(raw)
    if not body.strip() and not urls:
        raise _bad(f"{where}: message and attachmentUrls cannot both be empty")
    channel = raw.get("channel") or raw.get("messageType") or Step.Channel.IMESSAGE
    if channel not in Step.Channel.values:
        raise _bad(f"{where}.channel must be imessage, sms or email")
    if len(body) > MAX_BODY_CHARS[channel]:
        raise _bad(f"{where}.message is too long for {channel} (max {MAX_BODY_CHARS[channel]} characters)",
                   "MESSAGE_TOO_LONG")
    subject = optional_string(raw, "subject", max_length=200)
    unknown = unknown_variables(body) + unknown_variables(subject)
    if unknown:
        raise _bad(f"{where} names unknown variables: {', '.join(sorted(set(unknown)))} "
                   f"(known: {', '.join(CAMPAIGN_VARIABLES)}; a fallback is written {{firstName|there}})",
                   "UNKNOWN_VARIABLE")
    only = raw.get("onlyIfNoReply", False)
    if not isinstance(only, bool):
        raise _bad(f"{where}.onlyIfNoReply must be true or false")
    wait = _wait(raw, where)
    if index == 0 and wait:
        raise _bad("steps[0] has no wait: it is sent when the lead is enrolled (and the schedule allows)")
    return StepInput(body=body, channel=channel, subject=subject, wait_seconds=wait, only_if_no_reply=only,
                     stop_conditions=_stop_conditions(raw.get("stopConditions"), where), attachment_urls=urls,
                     attachment_names=names)


def _id_list(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and is_object_id(v) for v in value):
        raise _bad(f"{name} must be an array of ids", "INVALID_ID")
    return list(dict.fromkeys(value))


def parse_campaign(data: Any, *, creating: bool) -> CampaignInput:
    require_json_object(data)
    parsed = CampaignInput()
    name = optional_string(data, "name", max_length=200)
    if creating and not name.strip():
        raise _bad("name is required")
    if name.strip():
        parsed.fields["name"] = name.strip()
    if "steps" in data or creating:
        steps = data.get("steps")
        if not isinstance(steps, list) or not steps:
            raise _bad("steps must be a non-empty array")
        if len(steps) > MAX_STEPS:
            raise _bad(f"At most {MAX_STEPS} steps")
        parsed.steps = [parse_step(raw, i) for i, raw in enumerate(steps)]
    if "lineIds" in data and data["lineIds"] is not None:
        parsed.line_ids = _id_list(data["lineIds"], "lineIds")
    if "listId" in data:
        parsed.has_list = True
        list_id = data["listId"]
        if list_id not in (None, "") and not (isinstance(list_id, str) and is_object_id(list_id)):
            raise _bad("Invalid listId", "INVALID_ID")
        parsed.list_id = list_id or ""
    if any(key in data for key in ("timezone", "sendWindowStart", "sendWindowEnd", "allowedDaysOfWeek")):
        tz, start, end, days = parse_schedule(data)
        parsed.fields.update(timezone=tz, send_window_start=start, send_window_end=end, allowed_days_of_week=days)
    if "replyBehavior" in data:
        behavior = data["replyBehavior"]
        if behavior not in Campaign.ReplyBehavior.values:
            raise _bad("replyBehavior must be stop_on_reply or continue")
        parsed.fields["reply_behavior"] = behavior
    if "sendFallbackSmsOnFailed" in data:
        flag = data["sendFallbackSmsOnFailed"]
        if flag is not None and not isinstance(flag, bool):
            raise _bad("sendFallbackSmsOnFailed must be true, false or null")
        parsed.fields["send_fallback_sms_on_failed"] = flag
    return parsed


@dataclass
class AddLead:
    """POST /api/campaigns/{id}/leads: one existing lead, one lead to find or create, or a bulk form."""

    lead_id: str = ""
    lead_values: dict[str, Any] | None = None  # model attribute → value, validated
    bulk: dict[str, Any] | None = None  # {"leadIds": [...]} | {"listId": "..."}


def parse_add_lead(data: Any) -> AddLead:
    """One form per request, every field given of the right type (a wrong one is never silently ignored)."""
    require_json_object(data)
    given = {key: data[key] for key in ("leadId", "lead", "leadIds", "listId") if data.get(key) not in (None, "")}
    types = {"leadId": (str, "a string"), "lead": (dict, "an object"), "leadIds": (list, "an array"),
             "listId": (str, "a string")}
    for key, value in given.items():
        expected, name = types[key]
        if not isinstance(value, expected):
            raise _bad(f"{key} must be {name}")
    if len(given) > 1:
        raise _bad(f"Give one of leadId, lead, leadIds or listId (got {', '.join(given)})")
    if "leadId" in given:
        if not is_object_id(given["leadId"]):
            raise _bad("Invalid leadId", "INVALID_ID")
        return AddLead(lead_id=given["leadId"])
    if "lead" in given:
        row = build_row(check_lead_types(given["lead"], "lead"), phone_region(data.get("defaultCountryCode")))
        if isinstance(row, str):
            raise _bad(f"lead: {row}")
        return AddLead(lead_values=row.values)
    if given:
        return AddLead(bulk={"leadIds": given.get("leadIds"), "listId": given.get("listId")})
    raise _bad("Provide leadId (an existing lead) or lead (fields of a lead to create)")
