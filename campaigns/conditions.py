"""Stop conditions: checked before each step is created (a step is not sent if one is met).

- `replied`: the lead replied since it was enrolled;
- `replied_keyword`: one of its replies since then holds a keyword (whole words, case-insensitive);
- `has_tag` / `lacks_tag`: the lead has (has not) the tag;
- `contacted_before`: Tuco had sent to this lead before it was enrolled (outside this campaign).
"""

from __future__ import annotations

import re

from campaigns.models import Enrollment, Step
from messaging.models import Direction, Message

_WORD = re.compile(r"[\w']+")


def _replies(enrollment: Enrollment) -> list[str]:
    return list(Message.objects.filter(lead_id=enrollment.lead_id, direction=Direction.INBOUND,
                                       created_at__gte=enrollment.created_at)
                .order_by("-created_at").values_list("body", flat=True)[:50])


def stop_reason(enrollment: Enrollment, step: Step) -> str | None:
    """The first condition of `step` that holds for this lead, as a stop reason; None to send it."""
    for condition in step.stop_conditions or []:
        kind = condition.get("type")
        if kind == "replied" and (enrollment.replied_at is not None or _replies(enrollment)):
            return "replied"
        if kind == "replied_keyword":
            keywords = set(condition.get("keywords") or [])
            words = {w.lower() for body in _replies(enrollment) for w in _WORD.findall(body or "")}
            phrases = [k for k in keywords if " " in k]
            bodies = " ".join(b.lower() for b in _replies(enrollment)) if phrases else ""
            if keywords & words or any(p in bodies for p in phrases):
                return "replied_keyword"
        tags = set(enrollment.lead.tags or [])
        if kind == "has_tag" and condition.get("tag") in tags:
            return f"has_tag:{condition.get('tag')}"
        if kind == "lacks_tag" and condition.get("tag") not in tags:
            return f"lacks_tag:{condition.get('tag')}"
        if kind == "contacted_before" and Message.objects.filter(
                lead_id=enrollment.lead_id, direction=Direction.OUTBOUND, sent_at__isnull=False,
                created_at__lt=enrollment.created_at).exclude(campaign_id=enrollment.campaign_id).exists():
            return "contacted_before"
    return None
