"""The campaign engine: each due enrollment's next step, created when it comes due.

The beat sweep takes due enrollments (`state = scheduled AND next_at <= now`, a partial index: the cost
follows the due rows, not the enrolled ones) with `FOR UPDATE SKIP LOCKED`, so two sweeps never take the
same one, and for each one, in one transaction:

1. stops it when a stop condition holds (a reply, a keyword in a reply, a tag, contacted before, the
   address on the do-not-contact list); skips an "only if no reply" step the lead answered;
2. holds it when none of the campaign's lines can send now (the campaign says why, and continues
   when a line is healthy again);
3. creates the step's message (messaging.services.campaign_step) on the lead's sticky line, or for a
   first touch the next campaign line in turn, with the other campaign lines as its retry choices for
   step 0 only (spec: "1 per line; step 0 tries other lines").

The message then goes through the same engine as any send; what happens to it comes back through
messaging.signals (campaigns.receivers): sent → the next step is due `wait` after the actual send.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from campaigns.conditions import stop_reason
from campaigns.models import Campaign, Enrollment, Step
from leads.dnc import dnc_blocked_address
from lines.models import Line
from messaging.services.campaign_step import StepMessage, campaign_message_create
from tuco.logging import get_logger
from tuco.rotation import next_in_turn

log = get_logger(__name__)

BATCH = 200
NO_LINE = "No assigned line can send now (inactive or unhealthy): the campaign holds until one can"
LINE_CHANNEL = {Step.Channel.IMESSAGE: Line.Channel.PHONE, Step.Channel.EMAIL: Line.Channel.EMAIL}


def step_wait(step: Step) -> timedelta:
    """A step's wait, scaled by TUCO_CAMPAIGN_WAIT_SCALE (1 in production; end-to-end tests shorten it)."""
    return timedelta(seconds=step.wait_seconds * settings.TUCO_CAMPAIGN_WAIT_SCALE)


def sweep_due_enrollments(*, now: datetime | None = None, max_batches: int = 20) -> dict[str, int]:
    now = now or timezone.now()
    counts = {"created": 0, "stopped": 0, "held": 0, "completed": 0}
    for _ in range(max_batches):
        with transaction.atomic():
            due = list(Enrollment.objects.select_for_update(skip_locked=True, of=("self",))
                       .select_related("campaign", "lead")
                       .filter(state=Enrollment.State.SCHEDULED, next_at__lte=now).order_by("next_at")[:BATCH])
            steps = _steps_of({e.campaign_id for e in due})
            lines = {}
            for enrollment in due:
                campaign = enrollment.campaign
                if campaign.pk not in lines:
                    lines[campaign.pk] = usable_lines(campaign)
                counts[advance(enrollment, steps.get(campaign.pk, []), lines[campaign.pk], now)] += 1
        if len(due) < BATCH:
            break
    _note_holds(counts, now)
    return counts


def _steps_of(campaign_ids: set[str]) -> dict[str, list[Step]]:
    steps: dict[str, list[Step]] = {}
    for step in Step.objects.filter(campaign_id__in=campaign_ids).order_by("campaign_id", "index"):
        steps.setdefault(step.campaign_id, []).append(step)
    return steps


def usable_lines(campaign: Campaign) -> list[Line]:
    """The campaign's lines (every active line of the workspace when none is assigned) that can send now."""
    assigned = list(campaign.lines.all())
    lines = assigned or list(Line.objects.filter(workspace_id=campaign.workspace_id, is_active=True))
    return [line for line in lines if line.is_active and line.health_status == Line.Health.HEALTHY]


def advance(enrollment: Enrollment, steps: list[Step], lines: list[Line], now: datetime) -> str:
    """Inside the sweep's transaction: "created" | "stopped" | "held" | "completed"."""
    campaign, lead = enrollment.campaign, enrollment.lead
    while enrollment.next_step < len(steps):
        step = steps[enrollment.next_step]
        reason = stop_reason(enrollment, step)
        if reason is None and dnc_blocked_address(workspace_id=campaign.workspace_id,
                                                  addresses=[*lead.phones(), *lead.emails()]):
            reason = "opted_out"
        if reason is not None:
            stop(enrollment, reason, now)
            return "stopped"
        if step.only_if_no_reply and enrollment.replied_at is not None:
            enrollment.next_step += 1  # answered: this step is skipped, the next one keeps its own wait
            if enrollment.next_step < len(steps):
                due_at = (enrollment.last_sent_at or now) + step_wait(steps[enrollment.next_step])
                if due_at > now:
                    Enrollment.objects.filter(pk=enrollment.pk).update(next_step=enrollment.next_step,
                                                                       next_at=due_at, updated_at=now)
                    return "held"
            continue
        return _send_step(enrollment, step, lines, now)
    Enrollment.objects.filter(pk=enrollment.pk).update(state=Enrollment.State.COMPLETED, next_at=None,
                                                       updated_at=now)
    return "completed"


def _send_step(enrollment: Enrollment, step: Step, lines: list[Line], now: datetime) -> str:
    campaign = enrollment.campaign
    channel = LINE_CHANNEL.get(step.channel)
    candidates = [line for line in lines if channel is None or line.channel_type == channel]
    if step.index > 0 and enrollment.line_id:
        # Later steps stay on the line the lead first heard from (and wait for it when it cannot send).
        sticky = Line.objects.filter(pk=enrollment.line_id, is_active=True).first()
        candidates = [sticky] if sticky is not None else candidates
    if not candidates:
        if campaign.hold_reason != NO_LINE:
            Campaign.objects.filter(pk=campaign.pk).update(hold_reason=NO_LINE)
            campaign.hold_reason = NO_LINE
        return "held"  # still due: the next sweep tries again
    first = next_in_turn(f"campaign:{campaign.pk}", candidates) if len(candidates) > 1 else candidates[0]
    order = [first, *(line for line in candidates if line.pk != first.pk)]
    choices = [line.pk for line in order] if step.index == 0 else [first.pk]
    step_message = StepMessage(
        campaign_id=campaign.pk, enrollment_id=enrollment.pk, step_index=step.index, message_type=step.channel,
        body=step.body, subject=step.subject, line=first, line_choices=choices, attachment_urls=step.attachment_urls,
        attachment_names=step.attachment_names, timezone=campaign.timezone,
        send_window_start=campaign.send_window_start, send_window_end=campaign.send_window_end,
        allowed_days_of_week=campaign.allowed_days_of_week,
        send_fallback_sms_on_failed=campaign.send_fallback_sms_on_failed, correlation_id=f"campaign_{campaign.pk}")
    message = campaign_message_create(workspace_id=campaign.workspace_id, lead=enrollment.lead, step=step_message,
                                      now=now)
    if message is None:
        stop(enrollment, "no_address", now)
        return "stopped"
    Enrollment.objects.filter(pk=enrollment.pk).update(state=Enrollment.State.SENDING, message_id=message.pk,
                                                       next_at=None, updated_at=now)
    return "created"


def stop(enrollment: Enrollment, reason: str, now: datetime) -> None:
    Enrollment.objects.filter(pk=enrollment.pk).update(state=Enrollment.State.STOPPED, stop_reason=reason,
                                                       stopped_at=now, next_at=None, updated_at=now)
    log.info("campaign.lead_stopped", campaignId=enrollment.campaign_id, leadId=enrollment.lead_id, reason=reason,
             step=enrollment.next_step)


def _note_holds(counts: dict[str, int], now: datetime) -> None:
    """A campaign that held for want of a line and now has one says so no more; a list campaign whose
    leads are all done is completed."""
    for campaign in Campaign.objects.filter(status=Campaign.Status.ACTIVE).exclude(hold_reason=""):
        if usable_lines(campaign):
            Campaign.objects.filter(pk=campaign.pk).update(hold_reason="")
    # Per campaign, probes that stop at the first row found: a join of the enrollments (DISTINCT, or an
    # EXISTS the planner turns into one) read every enrollment of every active list campaign on each sweep.
    waiting = Enrollment.objects.filter(campaign_id=OuterRef("pk"), state__in=(
        Enrollment.State.SCHEDULED, Enrollment.State.SENDING, Enrollment.State.HELD))
    idle = Campaign.objects.filter(status=Campaign.Status.ACTIVE, lead_list__isnull=False).exclude(Exists(waiting))
    done = [campaign for campaign in idle if Enrollment.objects.filter(campaign_id=campaign.pk).exists()]
    for campaign in done:
        Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.ACTIVE).update(
            status=Campaign.Status.COMPLETED, completed_at=now)
        log.info("campaign.completed", campaignId=campaign.pk)
