"""Campaigns: multi-step sequences over many leads, paced across lines, stopped by replies (docs/campaigns.md).

A campaign's steps are templates; an enrollment is one lead's way through them. A step's message is
created only when it comes due (`Enrollment.next_at`, indexed for the sweep), so an edit to a later step
takes effect and a reply stops what does not exist yet.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from leads.models import Lead, LeadList
from lines.models import Line
from tuco.ids import new_id
from tuco.models import Workspace


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"
        ACTIVE = "active"
        PAUSED = "paused"
        COMPLETED = "completed"
        ARCHIVED = "archived"

    class ReplyBehavior(models.TextChoices):
        STOP_ON_REPLY = "stop_on_reply"  # default: a reply stops the lead's remaining steps
        CONTINUE = "continue"  # steps go on; "only if no reply" steps still check

    id = models.CharField(primary_key=True, max_length=24, default=new_id, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="campaigns", db_index=False)
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    # The audience: a lead list enrolled at launch, or none (API-only: leads are added by API).
    lead_list = models.ForeignKey(LeadList, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # Assigned lines; none assigned = every active line of the workspace (at send time).
    lines = models.ManyToManyField(Line, blank=True, related_name="campaigns")
    timezone = models.CharField(max_length=64, blank=True, default="")
    send_window_start = models.CharField(max_length=5, blank=True, default="")
    send_window_end = models.CharField(max_length=5, blank=True, default="")
    allowed_days_of_week = models.JSONField(null=True, blank=True)
    reply_behavior = models.CharField(max_length=16, choices=ReplyBehavior.choices,
                                      default=ReplyBehavior.STOP_ON_REPLY)
    send_fallback_sms_on_failed = models.BooleanField(null=True, blank=True)
    # Why the campaign holds (no line can send): shown in stats and the admin, cleared when a line heals.
    hold_reason = models.CharField(max_length=200, blank=True, default="")
    launched_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "-created_at"], name="campaign_ws_created")]

    def __str__(self) -> str:
        return self.name


class Step(models.Model):
    """One message of the sequence. `index` 0 goes first; each later step waits `wait_seconds` after the
    actual send of the previous one."""

    class Channel(models.TextChoices):
        IMESSAGE = "imessage"
        SMS = "sms"
        EMAIL = "email"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="steps", db_index=False)
    index = models.PositiveSmallIntegerField()
    body = models.TextField()
    subject = models.CharField(max_length=200, blank=True, default="")
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.IMESSAGE)
    attachment_urls = models.JSONField(default=list, blank=True)
    attachment_names = models.JSONField(default=list, blank=True)
    wait_seconds = models.PositiveIntegerField(default=0)
    only_if_no_reply = models.BooleanField(default=False)
    # [{"type": "replied"} | {"type": "replied_keyword", "keywords": [...]} | {"type": "has_tag", "tag": ...}
    #  | {"type": "lacks_tag", "tag": ...} | {"type": "contacted_before"}]: any one met stops the lead.
    stop_conditions = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "index"], name="uniq_campaign_step")]
        ordering = ("index",)


class Enrollment(models.Model):
    """One lead's way through one campaign: at most one per (campaign, lead) — re-entry is not allowed."""

    class State(models.TextChoices):
        SCHEDULED = "scheduled"  # its next step comes due at next_at
        HELD = "held"  # its campaign is not running (draft, paused): next_at waits with it
        SENDING = "sending"  # its current step's message is on its way
        COMPLETED = "completed"  # every step went out
        STOPPED = "stopped"  # a reply, an opt-out, a stop condition, a failed step: stop_reason says

    id = models.CharField(primary_key=True, max_length=24, default=new_id, editable=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="enrollments", db_index=False)
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="enrollments")
    state = models.CharField(max_length=10, choices=State.choices, default=State.SCHEDULED)
    next_step = models.PositiveSmallIntegerField(default=0)
    next_at = models.DateTimeField(null=True, blank=True)
    # The current step's message (plain id: the message belongs to messaging, which knows nothing of us).
    message_id = models.CharField(max_length=24, blank=True, default="")
    # The line the lead first heard from: later steps stay on it (sticky sender).
    line = models.ForeignKey(Line, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    last_sent_at = models.DateTimeField(null=True, blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    stop_reason = models.CharField(max_length=64, blank=True, default="")
    stopped_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "lead"], name="uniq_campaign_lead")]
        indexes = [
            # The sweep's queue: only enrollments waiting for a step are indexed (cost follows the due rows).
            models.Index(fields=["next_at"], name="enrollment_due", condition=Q(state="scheduled")),
        ]
