"""Campaign reads: the campaign document, the list, per-step stats and the recipients (with why each waits)."""

from __future__ import annotations

from typing import Any

from django.db.models import Case, Count, OuterRef, Q, QuerySet, Subquery, Value, When
from django.http import QueryDict

from campaigns.engine import NO_LINE, usable_lines
from campaigns.models import Campaign, Enrollment, Step
from lines.models import Line
from messaging.explain import explanation_for
from messaging.models import CLAIMABLE, Direction, Message, Status
from tuco.errors import BadRequest
from tuco.ids import is_object_id
from tuco.models import Workspace
from tuco.pagination import parse_limit
from tuco.timefmt import iso


def _nz(value: str) -> str | None:
    return value or None


def step_document(step: Step) -> dict[str, Any]:
    return {"index": step.index, "message": step.body, "channel": step.channel, "subject": _nz(step.subject),
            "waitSeconds": step.wait_seconds, "onlyIfNoReply": step.only_if_no_reply,
            "stopConditions": step.stop_conditions, "attachmentUrls": step.attachment_urls,
            "attachmentNames": step.attachment_names}


def campaign_document(campaign: Campaign) -> dict[str, Any]:
    return {
        "_id": campaign.pk,
        "name": campaign.name,
        "status": campaign.status,
        "workspaceId": campaign.workspace_id,
        "listId": campaign.lead_list_id,
        "apiOnly": campaign.lead_list_id is None,
        "lineIds": sorted(line.pk for line in campaign.lines.all()),
        "timezone": _nz(campaign.timezone),
        "sendWindowStart": _nz(campaign.send_window_start),
        "sendWindowEnd": _nz(campaign.send_window_end),
        "allowedDaysOfWeek": campaign.allowed_days_of_week,
        "replyBehavior": campaign.reply_behavior,
        "sendFallbackSmsOnFailed": campaign.send_fallback_sms_on_failed,
        "holdReason": _nz(campaign.hold_reason),
        "steps": [step_document(step) for step in campaign.steps.all()],
        "launchedAt": iso(campaign.launched_at),
        "completedAt": iso(campaign.completed_at),
        "createdAt": iso(campaign.created_at),
        "updatedAt": iso(campaign.updated_at),
    }


def campaign_list(*, workspace: Workspace, params: QueryDict) -> tuple[list[Campaign], str | None]:
    limit = parse_limit(params.get("limit"))
    campaigns: QuerySet[Campaign] = Campaign.objects.filter(workspace=workspace).prefetch_related("lines", "steps")
    status = params.get("status")
    if status:
        if status not in Campaign.Status.values:
            raise BadRequest(f"Invalid status: {status}", code="INVALID_STATUS")
        campaigns = campaigns.filter(status=status)
    cursor = params.get("cursor")
    if cursor:
        if not is_object_id(cursor):
            raise BadRequest("Invalid cursor", code="INVALID_CURSOR")
        campaigns = campaigns.filter(pk__lt=cursor)
    items = list(campaigns.order_by("-id")[: limit + 1])
    return items[:limit], (items[limit - 1].pk if len(items) > limit else None)


def campaign_stats(campaign: Campaign) -> dict[str, Any]:
    """Per step: queued, sent, delivered, read, failed, fallback, replied, stopped; and the reply rate."""
    messages = Message.objects.filter(campaign_id=campaign.pk, direction=Direction.OUTBOUND)
    by_step = {row["step_index"]: row for row in messages.values("step_index").annotate(
        queued=Count("id", filter=Q(status__in=(*CLAIMABLE, Status.SENDING))),
        sent=Count("id", filter=Q(sent_at__isnull=False)),
        delivered=Count("id", filter=Q(status=Status.DELIVERED)),
        read=Count("id", filter=Q(read_at__isnull=False)),
        failed=Count("id", filter=Q(status=Status.FAILED)),
        fallback=Count("id", filter=Q(status=Status.FALLBACK)))}
    replied = dict(Message.objects.filter(direction=Direction.INBOUND, reply_to__campaign_id=campaign.pk)
                   .values("reply_to__step_index").annotate(n=Count("lead_id", distinct=True))
                   .values_list("reply_to__step_index", "n"))
    enrollments = Enrollment.objects.filter(campaign=campaign)
    stopped = dict(enrollments.filter(state=Enrollment.State.STOPPED).values("next_step")
                   .annotate(n=Count("id")).values_list("next_step", "n"))
    totals = enrollments.aggregate(
        enrolled=Count("id"), scheduled=Count("id", filter=Q(state=Enrollment.State.SCHEDULED)),
        sending=Count("id", filter=Q(state=Enrollment.State.SENDING)),
        held=Count("id", filter=Q(state=Enrollment.State.HELD)),
        completed=Count("id", filter=Q(state=Enrollment.State.COMPLETED)),
        stopped=Count("id", filter=Q(state=Enrollment.State.STOPPED)),
        replied=Count("id", filter=Q(replied_at__isnull=False)),
        reached=Count("id", filter=Q(last_sent_at__isnull=False)))
    steps = []
    for step in campaign.steps.all():
        row = by_step.get(step.index, {})
        steps.append({"index": step.index, **{k: row.get(k, 0) for k in ("queued", "sent", "delivered", "read",
                                                                          "failed", "fallback")},
                      "replied": replied.get(step.index, 0), "stopped": stopped.get(step.index, 0)})
    rate = round(totals["replied"] / totals["reached"], 4) if totals["reached"] else 0.0
    return {"campaignId": campaign.pk, "status": campaign.status, "holdReason": _nz(campaign.hold_reason),
            "steps": steps, "leads": totals, "replyRate": rate}


BADGES = {Status.SENT: "Sent", Status.DELIVERED: "Delivered", Status.FAILED: "Failed", Status.FALLBACK: "Fallback"}
RECIPIENT_BADGES = ("Pending", "Sent", "Delivered", "Failed", "Fallback", "Replied", "Stopped")


def recipient_badge(enrollment: Enrollment, message: Message | None) -> str:
    """The spec's recipient-level badges: Pending, Sent, Delivered, Failed, Fallback, plus Replied, Stopped."""
    if enrollment.replied_at is not None:
        return "Replied"
    if enrollment.state == Enrollment.State.STOPPED and enrollment.stop_reason not in ("failed", "fallback"):
        return "Stopped"
    if message is None:
        return "Pending"
    return BADGES.get(message.status, "Pending")


def recipient_badge_counts(campaign: Campaign) -> dict[str, int]:
    """How many of the campaign's leads show each badge: `recipient_badge` as one GROUP BY (every badge
    listed, zeros included), so the admin and `campaign_status` count without reading every enrollment."""
    status = Subquery(Message.objects.filter(pk=OuterRef("message_id")).values("status")[:1])
    badge = Case(
        When(replied_at__isnull=False, then=Value("Replied")),
        When(Q(state=Enrollment.State.STOPPED) & ~Q(stop_reason__in=("failed", "fallback")), then=Value("Stopped")),
        *(When(message_status=value, then=Value(label)) for value, label in BADGES.items()),
        default=Value("Pending"))  # no message (yet), or one still on its way
    rows = (Enrollment.objects.filter(campaign=campaign).annotate(message_status=status).annotate(badge=badge)
            .order_by().values("badge").annotate(n=Count("id")).values_list("badge", "n"))
    return {label: 0 for label in RECIPIENT_BADGES} | dict(rows)


def campaign_lines(campaign: Campaign) -> dict[str, Any]:
    """The lines the campaign sends from (its own, else every active line of the workspace), which of them
    can send now (the engine's own test), and whether it holds for want of one and why. An active campaign
    with no usable line holds at its next due lead even before the sweep has said so."""
    assigned = list(campaign.lines.all())
    lines = assigned or list(Line.objects.filter(workspace_id=campaign.workspace_id, is_active=True))
    usable = {line.pk for line in usable_lines(campaign)}
    hold = campaign.hold_reason or (NO_LINE if campaign.status == Campaign.Status.ACTIVE and not usable else "")
    return {
        "allActiveLines": not assigned,
        "lines": [{"id": line.pk, "address": str(line), "name": line.display_name, "active": line.is_active,
                   "health": line.health_status, "healthReason": _nz(line.health_reason),
                   "usable": line.pk in usable} for line in sorted(lines, key=str)],
        "usableLines": len(usable),
        "holds": bool(hold),
        "holdReason": _nz(hold),
    }


def waiting_because(enrollment: Enrollment, message: Message | None, campaign: Campaign) -> str:
    if enrollment.state == Enrollment.State.HELD:
        return f"The campaign is {campaign.status}; the lead continues when it runs."
    if enrollment.state == Enrollment.State.SCHEDULED:
        if campaign.hold_reason:
            return campaign.hold_reason
        return f"Step {enrollment.next_step} is due at {iso(enrollment.next_at)}."
    if enrollment.state == Enrollment.State.SENDING and message is not None:
        return explanation_for(message)
    if enrollment.state == Enrollment.State.STOPPED:
        return f"Stopped: {enrollment.stop_reason}."
    return "Every step went out."


def campaign_recipients(campaign: Campaign, *, params: QueryDict) -> tuple[list[dict[str, Any]], str | None]:
    limit = parse_limit(params.get("limit"))
    enrollments = Enrollment.objects.filter(campaign=campaign).select_related("lead")
    cursor = params.get("cursor")
    if cursor:
        if not is_object_id(cursor):
            raise BadRequest("Invalid cursor", code="INVALID_CURSOR")
        enrollments = enrollments.filter(pk__lt=cursor)
    page = list(enrollments.order_by("-id")[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    messages = {m.pk: m for m in Message.objects.filter(pk__in=[e.message_id for e in page if e.message_id])}
    items = []
    for enrollment in page:
        message = messages.get(enrollment.message_id)
        lead = enrollment.lead
        items.append({
            "leadId": lead.pk, "name": lead.full_name or None, "phone": lead.phone or None,
            "email": lead.email or None, "state": enrollment.state, "badge": recipient_badge(enrollment, message),
            "currentStep": message.step_index if message is not None else None, "nextStep": enrollment.next_step,
            "nextStepAt": iso(enrollment.next_at) if enrollment.state == Enrollment.State.SCHEDULED else (
                iso(message.next_attempt_at) if message is not None and message.queued_reason else None),
            "waitingBecause": waiting_because(enrollment, message, campaign),
            "messageId": enrollment.message_id or None, "messageStatus": message.status if message else None,
            "lineId": enrollment.line_id, "lastSentAt": iso(enrollment.last_sent_at),
            "repliedAt": iso(enrollment.replied_at), "stopReason": _nz(enrollment.stop_reason),
            "enrolledAt": iso(enrollment.created_at),
        })
    return items, (page[-1].pk if more else None)
