"""Personalization at send time: {{firstName}}, {{lastName}}, {{fullName}}, {{email}}, {{phone}}.

Placeholders are double-braced, spaces inside the braces are allowed
(`{{ firstName }}`), and a fallback may follow a pipe (`{{firstName|there}}`).
A known placeholder whose value is missing renders as its fallback or empty;
an unknown placeholder is left untouched, so literal braces in a message
survive. Values come from the lead (email/phone: the lead's primary contact,
else the message's recipient).
"""

from __future__ import annotations

import re

from leads.models import Lead
from lines.models import Line
from messaging.models import Message

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z][A-Za-z0-9_]*)\s*(?:\|([^{}]*))?\}\}")
# Campaign steps also use single braces (spec, features/campaigns): `{firstName}`, `{firstName|there}`,
# `{line_name}`. Only in campaign messages, so literal braces of other sends survive.
SINGLE_PLACEHOLDER = re.compile(r"(?<!\{)\{\s*([A-Za-z][A-Za-z0-9_]*)\s*(?:\|([^{}]*))?\}(?!\})")
CAMPAIGN_VARIABLES = ("firstName", "lastName", "companyName", "email", "phone", "line_name", "fullName")


def lead_values(lead: Lead | None, message: Message) -> dict[str, str]:
    first = lead.first_name if lead else ""
    last = lead.last_name if lead else ""
    if lead is None and message.recipient_name:
        first, _, last = message.recipient_name.partition(" ")
    return {
        "firstName": first,
        "lastName": last,
        "fullName": " ".join(p for p in (first, last) if p),
        "email": (lead.email if lead else "") or message.recipient_email,
        "phone": (lead.phone if lead else "") or message.recipient_phone,
        "companyName": lead.company_name if lead else "",
    }


def render(text: str, values: dict[str, str], *, single_braces: bool = False) -> str:
    def substitute(match: re.Match[str]) -> str:
        name, fallback = match.group(1), match.group(2)
        if name not in values:
            return match.group(0)
        value = values[name]
        return value if value else (fallback.strip() if fallback is not None else "")

    rendered = PLACEHOLDER.sub(substitute, text or "")
    return SINGLE_PLACEHOLDER.sub(substitute, rendered) if single_braces else rendered


def unknown_variables(text: str) -> list[str]:
    """The variables of a campaign template that no lead or line can fill (refused when it is saved)."""
    names = [m.group(1) for pattern in (PLACEHOLDER, SINGLE_PLACEHOLDER) for m in pattern.finditer(text or "")]
    return sorted({name for name in names if name not in CAMPAIGN_VARIABLES})


def render_message(message: Message, *, line: Line | None = None) -> str:
    """The text the recipient gets: the lead's values (and, for a campaign, the sending line's name)."""
    values = lead_values(message.lead if message.lead_id else None, message)
    if message.campaign_id:
        line = line or (message.line if message.line_id else None)
        values["line_name"] = line.display_name if line is not None else ""
    return render(message.body, values, single_braces=bool(message.campaign_id))


def sms_body(message: Message) -> str:
    """The text as the recipient would have seen it: placeholders filled, attachment links appended."""
    parts = [render_message(message).strip()]
    parts.extend(url for url in (message.attachment_urls or []) if isinstance(url, str))
    return "\n".join(p for p in parts if p)
