"""A launched two-step campaign whose seven leads each show one recipient badge, for the admin, browser and
`campaign_status` tests. Everything goes through the product: the campaign through the services, step 0
through the engine's sweep, each message through the state machine (whose signals move the enrollments),
replies through the inbound store."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from campaigns.engine import sweep_due_enrollments
from campaigns.input import parse_campaign
from campaigns.models import Campaign
from campaigns.services import campaign_create, campaign_launch, enroll_lead
from messaging.inbound.store import inbound_store
from messaging.models import Message, Status
from messaging.send import state
from tests.factories import LeadFactory
from tuco.models import Workspace

_guids = itertools.count(1)

STEPS = [{"message": "Hi {firstName|there}, {line_name} here. Got a minute this week?"},
         {"message": "Following up, {firstName} — any thoughts?", "wait": {"value": 1, "unit": "hours"}}]
# first name -> the badge its recipient row shows once seeded
LEADS = {"Ada": "Replied", "Ben": "Sent", "Cy": "Failed", "Di": "Fallback", "Ed": "Pending", "Flo": "Stopped",
         "Gus": "Delivered"}


@dataclass
class SeededCampaign:
    campaign: Campaign
    leads: dict[str, Any]  # first name -> Lead
    messages: dict[str, Message]  # first name -> its step 0 message


def _move(message: Message, *path: tuple[str, dict[str, Any]]) -> None:
    for to, fields in path:
        assert state.transition(message.pk, to=to, fields=fields or None) is not None, f"{message.pk} → {to}"


def reply_from(workspace: Workspace, line: Any, lead: Any, text: str = "Sounds good, tell me more") -> str:
    return inbound_store(workspace_id=workspace.pk, line=line, raw_address=lead.phone, text=text,
                         external_id=f"SEED-IN-{next(_guids)}", message_type="imessage")


def seed_campaign(workspace: Workspace, line: Any, *, name: str = "Spring outreach",
                  phone_prefix: str = "+1202555077") -> SeededCampaign:
    campaign = campaign_create(workspace=workspace, data=parse_campaign(
        {"name": name, "steps": STEPS, "lineIds": [line.pk]}, creating=True))
    leads = {first: LeadFactory(workspace=workspace, first_name=first, last_name="Lovelace",
                                phone=f"{phone_prefix}{n}") for n, first in enumerate(LEADS)}
    for lead in leads.values():
        enroll_lead(workspace=workspace, campaign_id=campaign.pk, lead_id=lead.pk)
    campaign_launch(workspace=workspace, campaign_id=campaign.pk)
    assert sweep_due_enrollments()["created"] == len(LEADS)
    by_lead = {m.lead_id: m for m in Message.objects.filter(campaign_id=campaign.pk, step_index=0)}
    messages = {first: by_lead[lead.pk] for first, lead in leads.items()}

    now = timezone.now()
    sending = (Status.SENDING, {"sending_since": now})
    sent = (Status.SENT, {"sent_at": now})
    _move(messages["Ada"], sending, sent, (Status.DELIVERED, {"delivered_at": now, "read_at": now}))
    reply_from(workspace, line, leads["Ada"])  # stops her step 1 (stop_on_reply)
    _move(messages["Ben"], sending, sent)  # his step 1 is due an hour after this send
    _move(messages["Gus"], sending, sent, (Status.DELIVERED, {"delivered_at": now}))
    _move(messages["Cy"], sending, (Status.FAILED, {"error": "The relay refused the message",
                                                    "error_code": "RELAY_REJECTED"}))
    _move(messages["Di"], sending, (Status.FALLBACK, {"fallback_reason": "not reachable on iMessage"}))
    # Ed's message stays pending: the lead is on its way ("why it waits" is the message's explanation).
    _move(messages["Flo"], (Status.CANCELLED, {}))  # cancelled by an operator: the lead stops
    assert Message.objects.get(pk=messages["Ben"].pk).sent_at is not None
    campaign.refresh_from_db()
    return SeededCampaign(campaign=campaign, leads=leads,
                          messages={k: Message.objects.get(pk=m.pk) for k, m in messages.items()})
