"""Campaign writes: create, update, delete (archive), launch, pause, resume, and enrolling leads.

The API and the admin call these; the sweep (campaigns.engine) sends the steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from campaigns.input import CampaignInput, StepInput
from campaigns.models import Campaign, Enrollment, Step
from leads.models import Lead, LeadList
from leads.services import lead_find_or_create, lead_get
from lines.models import Line
from messaging.models import Message
from messaging.send import state
from messaging.services.cancel import campaign_messages_cancel
from tuco.errors import BadRequest, Conflict, NotFound
from tuco.ids import is_object_id, new_id
from tuco.logging import get_logger
from tuco.models import Workspace

log = get_logger(__name__)

CAMPAIGN_NOT_FOUND = "Campaign not found"
ADDED = "Lead added to campaign and sequence started"
ALREADY_IN = "Lead already in campaign (re-entry not allowed)."
MAX_BULK = 1000
_ENROLLMENTS = Enrollment._meta.db_table


def campaign_get(*, workspace: Workspace, campaign_id: str, lock: bool = False) -> Campaign:
    campaigns = Campaign.objects.filter(workspace=workspace)
    if lock:
        campaigns = campaigns.select_for_update()
    campaign = campaigns.filter(pk=campaign_id).first() if is_object_id(campaign_id) else None
    if campaign is None:
        raise NotFound(CAMPAIGN_NOT_FOUND, code="CAMPAIGN_NOT_FOUND")
    return campaign


def _lines(workspace: Workspace, line_ids: list[str]) -> list[Line]:
    lines = list(Line.objects.filter(workspace=workspace, pk__in=line_ids))
    if len(lines) != len(line_ids):
        raise NotFound("Line not found", code="LINE_NOT_FOUND")
    return lines


def _lead_list(workspace: Workspace, list_id: str) -> LeadList | None:
    if not list_id:
        return None
    lead_list = LeadList.objects.filter(workspace=workspace, pk=list_id).first()
    if lead_list is None:
        raise NotFound("List not found", code="LIST_NOT_FOUND")
    return lead_list


def _replace_steps(campaign: Campaign, steps: list[StepInput]) -> None:
    """Steps are edited as a whole. A step's message is created only when it comes due, so an edit to a
    later step reaches every enrollment that has not got there yet."""
    Step.objects.filter(campaign=campaign).delete()
    Step.objects.bulk_create([Step(campaign=campaign, index=i, **step.as_fields()) for i, step in enumerate(steps)])


def campaign_create(*, workspace: Workspace, data: CampaignInput) -> Campaign:
    lines = _lines(workspace, data.line_ids or [])
    lead_list = _lead_list(workspace, data.list_id or "")
    assert data.steps is not None
    with transaction.atomic():
        campaign = Campaign.objects.create(workspace=workspace, lead_list=lead_list, **data.fields)
        campaign.lines.set(lines)
        _replace_steps(campaign, data.steps)
    log.info("campaign.created", campaignId=campaign.pk, workspaceId=workspace.pk, steps=len(data.steps))
    return campaign


def campaign_update(*, workspace: Workspace, campaign_id: str, data: CampaignInput) -> Campaign:
    lines = _lines(workspace, data.line_ids) if data.line_ids is not None else None
    lead_list = _lead_list(workspace, data.list_id or "") if data.has_list else None
    with transaction.atomic():
        campaign = campaign_get(workspace=workspace, campaign_id=campaign_id, lock=True)
        if campaign.status == Campaign.Status.ARCHIVED:
            raise Conflict("An archived campaign cannot be changed", code="CAMPAIGN_ARCHIVED")
        for name, value in data.fields.items():
            setattr(campaign, name, value)
        if data.has_list:
            campaign.lead_list = lead_list
        campaign.save()
        if lines is not None:
            campaign.lines.set(lines)
        if data.steps is not None:
            _replace_steps(campaign, data.steps)
    return campaign


def campaign_delete(*, workspace: Workspace, campaign_id: str) -> str:
    """"deleted", or "archived" when it has messages: they stay reportable, nothing more is sent (waiting
    leads stop, created messages not yet claimed are cancelled)."""
    with transaction.atomic():
        campaign = campaign_get(workspace=workspace, campaign_id=campaign_id, lock=True)
        if not Message.objects.filter(campaign_id=campaign.pk).exists():
            campaign.delete()
            return "deleted"
        campaign.status = Campaign.Status.ARCHIVED
        campaign.save(update_fields=["status", "updated_at"])
        _stop_waiting(campaign, reason="archived")
        campaign_messages_cancel(campaign_id=campaign.pk, reason="campaign_archived")  # their leads stop with them
    return "archived"


def _stop_waiting(campaign: Campaign, *, reason: str) -> int:
    return Enrollment.objects.filter(campaign=campaign, state__in=WAITING).update(
        state=Enrollment.State.STOPPED, stop_reason=reason, stopped_at=timezone.now(), next_at=None)


WAITING = (Enrollment.State.SCHEDULED, Enrollment.State.HELD)


def campaign_launch(*, workspace: Workspace, campaign_id: str) -> Campaign:
    """draft → active: the list's leads are enrolled and step 0 goes out as the pacing allows."""
    with transaction.atomic():
        campaign = campaign_get(workspace=workspace, campaign_id=campaign_id, lock=True)
        if campaign.status != Campaign.Status.DRAFT:
            raise Conflict(f"Only a draft campaign can be launched (status is '{campaign.status}')",
                           code="CAMPAIGN_NOT_DRAFT")
        now = timezone.now()
        campaign.status, campaign.launched_at = Campaign.Status.ACTIVE, now
        campaign.save(update_fields=["status", "launched_at", "updated_at"])
        if campaign.lead_list_id:
            enroll_many(campaign=campaign, lead_ids=None, lead_list_id=campaign.lead_list_id, now=now)
        _release(campaign, now)
    log.info("campaign.launched", campaignId=campaign.pk, workspaceId=workspace.pk)
    return campaign


def campaign_pause(*, workspace: Workspace, campaign_id: str) -> Campaign:
    """active → paused: nothing more is claimed (its waiting messages are held at once), enrollments wait."""
    with transaction.atomic():
        campaign = campaign_get(workspace=workspace, campaign_id=campaign_id, lock=True)
        if campaign.status != Campaign.Status.ACTIVE:
            raise Conflict(f"Only an active campaign can be paused (status is '{campaign.status}')",
                           code="CAMPAIGN_NOT_ACTIVE")
        campaign.status = Campaign.Status.PAUSED
        campaign.save(update_fields=["status", "updated_at"])
        Enrollment.objects.filter(campaign=campaign, state=Enrollment.State.SCHEDULED).update(
            state=Enrollment.State.HELD)
        held = state.hold_campaign_messages(campaign.pk)
    log.info("campaign.paused", campaignId=campaign.pk, heldMessages=held)
    return campaign


def campaign_resume(*, workspace: Workspace, campaign_id: str) -> Campaign:
    """paused → active: each lead continues where it was (nothing is replayed)."""
    with transaction.atomic():
        campaign = campaign_get(workspace=workspace, campaign_id=campaign_id, lock=True)
        if campaign.status != Campaign.Status.PAUSED:
            raise Conflict(f"Only a paused campaign can be resumed (status is '{campaign.status}')",
                           code="CAMPAIGN_NOT_PAUSED")
        campaign.status = Campaign.Status.ACTIVE
        campaign.save(update_fields=["status", "updated_at"])
        _release(campaign, timezone.now())
    log.info("campaign.resumed", campaignId=campaign.pk)
    return campaign


def _release(campaign: Campaign, now: datetime) -> None:
    Enrollment.objects.filter(campaign=campaign, state=Enrollment.State.HELD).update(state=Enrollment.State.SCHEDULED)
    state.release_campaign_messages(campaign.pk, now=now)


# --- enrolling -------------------------------------------------------------------------------------------

@dataclass
class Enrolled:
    lead: Lead
    created: bool
    message_count: int


def _initial_state(campaign: Campaign) -> str:
    return Enrollment.State.SCHEDULED if campaign.status == Campaign.Status.ACTIVE else Enrollment.State.HELD


def enroll_lead(*, workspace: Workspace, campaign_id: str, lead_id: str = "",
                lead_fields: dict[str, Any] | None = None) -> tuple[Campaign, Enrolled]:
    """One lead (existing, or found / created from `lead_fields`, already validated): enrolled once,
    concurrent adds included (the unique (campaign, lead) index decides). Its step 0 comes due now."""
    campaign = campaign_get(workspace=workspace, campaign_id=campaign_id)
    if campaign.status in (Campaign.Status.ARCHIVED, Campaign.Status.COMPLETED):
        raise Conflict(f"Leads cannot join a campaign that is {campaign.status}", code="CAMPAIGN_CLOSED")
    with transaction.atomic():
        if lead_id:
            lead = lead_get(workspace=workspace, lead_id=lead_id)
        else:
            assert lead_fields is not None
            lead, _ = lead_find_or_create(workspace=workspace, values=lead_fields, list_id=campaign.lead_list_id)
        try:
            with transaction.atomic():
                Enrollment.objects.create(campaign=campaign, lead=lead, state=_initial_state(campaign),
                                          next_at=timezone.now())
        except IntegrityError:
            return campaign, Enrolled(lead=lead, created=False, message_count=0)
    log.info("campaign.lead_enrolled", campaignId=campaign.pk, leadId=lead.pk)
    return campaign, Enrolled(lead=lead, created=True, message_count=Step.objects.filter(campaign=campaign).count())


def enroll_many(*, campaign: Campaign, lead_ids: list[str] | None, lead_list_id: str | None,
                now: datetime | None = None) -> dict[str, int]:
    """Enroll the workspace's leads among `lead_ids` (or of a list) in one statement; re-entries are skipped.
    Returns {"requested", "enrolled", "alreadyInCampaign"}."""
    now = now or timezone.now()
    leads = Lead.objects.filter(workspace_id=campaign.workspace_id)
    leads = leads.filter(pk__in=lead_ids) if lead_ids is not None else leads.filter(list_id=lead_list_id)
    sql, params = leads.values_list("id", flat=True).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{_ENROLLMENTS}" (id, campaign_id, lead_id, state, next_step, next_at, message_id, '
            "stop_reason, created_at, updated_at) "
            # Ids as tuco.ids makes them: the time first (ordered), then 8 bytes unique to (campaign, lead).
            f"SELECT %s || substr(md5(ids.id || %s), 1, 16), %s, ids.id, %s, 0, %s, '', '', %s, %s "
            f"FROM ({sql}) AS ids(id) ON CONFLICT (campaign_id, lead_id) DO NOTHING",
            [new_id()[:8], campaign.pk, campaign.pk, _initial_state(campaign), now, now, now, *params])
        enrolled = cursor.rowcount
    found = leads.count()
    requested = len(lead_ids) if lead_ids is not None else found
    log.info("campaign.leads_enrolled", campaignId=campaign.pk, enrolled=enrolled)
    return {"requested": requested, "enrolled": enrolled, "alreadyInCampaign": found - enrolled,
            "notFound": requested - found}


def enroll_bulk(*, workspace: Workspace, campaign_id: str, data: dict[str, Any]) -> dict[str, int]:
    lead_ids, list_id = data.get("leadIds"), data.get("listId")
    if lead_ids is not None:
        if not isinstance(lead_ids, list) or not lead_ids or len(lead_ids) > MAX_BULK or not all(
                isinstance(i, str) and is_object_id(i) for i in lead_ids):
            raise BadRequest(f"leadIds must be an array of 1-{MAX_BULK} lead ids", code="VALIDATION_ERROR")
        lead_ids = list(dict.fromkeys(lead_ids))
    elif not (isinstance(list_id, str) and is_object_id(list_id)):
        raise BadRequest("Provide leadId, lead, leadIds or listId", code="VALIDATION_ERROR")
    campaign = campaign_get(workspace=workspace, campaign_id=campaign_id)
    if campaign.status in (Campaign.Status.ARCHIVED, Campaign.Status.COMPLETED):
        raise Conflict(f"Leads cannot join a campaign that is {campaign.status}", code="CAMPAIGN_CLOSED")
    if lead_ids is None:
        _lead_list(workspace, list_id)
    with transaction.atomic():
        return enroll_many(campaign=campaign, lead_ids=lead_ids, lead_list_id=list_id)


