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
from messaging.models import Message

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z][A-Za-z0-9_]*)\s*(?:\|([^{}]*))?\}\}")


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


def render(text: str, values: dict[str, str]) -> str:
    def substitute(match: re.Match[str]) -> str:
        name, fallback = match.group(1), match.group(2)
        if name not in values:
            return match.group(0)
        value = values[name]
        return value if value else (fallback.strip() if fallback is not None else "")

    return PLACEHOLDER.sub(substitute, text or "")


def render_message(message: Message) -> str:
    return render(message.body, lead_values(message.lead, message))


def sms_body(message: Message) -> str:
    """The text as the recipient would have seen it: placeholders filled, attachment links appended."""
    parts = [render_message(message).strip()]
    parts.extend(url for url in (message.attachment_urls or []) if isinstance(url, str))
    return "\n".join(p for p in parts if p)
