"""`manage.py campaign_status ID [--json]`: one campaign as an operator checks it from a shell."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from campaigns.models import Campaign
from campaigns.selectors import campaign_lines, campaign_stats, recipient_badge_counts
from tuco.management.jsoncommand import JsonCommand

STEP_COLUMNS = ("queued", "sent", "delivered", "read", "failed", "fallback", "replied", "stopped")
LEAD_TOTALS = ("enrolled", "scheduled", "sending", "held", "completed", "stopped", "replied", "reached")


def _line_text(line: dict[str, Any]) -> str:
    if not line["active"]:
        state = "inactive"
    elif line["health"] != "healthy":
        state = f"{line['health']}: {line['healthReason']}" if line["healthReason"] else line["health"]
    else:
        state = "healthy"
    return f"{line['address']} ({state})"


def status_text(data: dict[str, Any]) -> str:
    lines = data["lines"]
    where = "every active line of the workspace" if data["allActiveLines"] else "assigned"
    rows = [f"Campaign {data['name']} ({data['campaignId']}): {data['status']}",
            f"Lines ({where}): " + (", ".join(_line_text(line) for line in lines) or "none")
            + f"; {data['usableLines']} of {len(lines)} can send now",
            f"Holds: yes, {data['holdReason']}" if data["holds"] else "Holds: no",
            "",
            "step  " + "  ".join(f"{name:>9}" for name in STEP_COLUMNS)]
    rows += [f"{step['index']:>4}  " + "  ".join(f"{step[name]:>9}" for name in STEP_COLUMNS) for step in data["steps"]]
    rows += ["",
             "Leads: " + ", ".join(f"{name} {data['leads'][name]}" for name in LEAD_TOTALS)
             + f"; reply rate {data['replyRate']:.1%}",
             "Recipients: " + ", ".join(f"{badge} {n}" for badge, n in data["recipients"].items())]
    return "\n".join(rows)


class Command(JsonCommand):
    help = ("A campaign's status, lines (and whether it holds for want of one, and why), per-step stats "
            "(as GET /api/campaigns/{id}/stats) and its recipients counted by badge.")

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("campaign_id")

    def handle(self, *args: Any, **options: Any) -> None:
        campaign = Campaign.objects.filter(pk=options["campaign_id"]).first()
        if campaign is None:
            raise CommandError(f"campaign {options['campaign_id']!r} not found")
        stats = campaign_stats(campaign)
        data = {"campaignId": campaign.pk, "name": campaign.name, "status": campaign.status,
                "workspaceId": campaign.workspace_id, **campaign_lines(campaign), "steps": stats["steps"],
                "leads": stats["leads"], "replyRate": stats["replyRate"],
                "recipients": recipient_badge_counts(campaign)}
        self.emit(options, data, status_text(data))
