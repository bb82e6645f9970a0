"""Messages, their timeline, send attempts, threads and the duplicate guard.

The columns the send path changes are written only by `messaging.send.state`
(docs/architecture.md, "Who writes what").
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from leads.models import Lead
from lines.models import Line
from tuco.ids import new_id
from tuco.models import Workspace
from tuco.queue_reasons import QueuedReason  # noqa: F401  (re-exported: messaging code names it from here)


class Status(models.TextChoices):
    QUEUED = "queued"
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    FALLBACK = "fallback"
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"
    RECEIVED = "received"  # inbound messages


# Rows the dispatcher may claim (`→ sending`) once `next_attempt_at` is due.
# They are also the ones a cancel may stop.
CLAIMABLE = (Status.PENDING, Status.QUEUED, Status.SCHEDULED)


class MessageType(models.TextChoices):
    IMESSAGE = "imessage"
    SMS = "sms"
    EMAIL = "email"


class Direction(models.TextChoices):
    OUTBOUND = "outbound"
    INBOUND = "inbound"


class FallbackStatus(models.TextChoices):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"


class Thread(models.Model):
    """A conversation: same workspace + same recipient address = same thread (Unibox)."""

    id = models.CharField(primary_key=True, max_length=24, default=new_id, editable=False)
    # Leading column of uniq_thread_address: a lone FK index would only cost writes.
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="threads", db_index=False)
    address = models.CharField(max_length=254)
    lead = models.ForeignKey(Lead, on_delete=models.SET_NULL, null=True, blank=True, related_name="threads")
    # The sticky sender: later sends to this recipient keep this line once the conversation started.
    line = models.ForeignKey(Line, on_delete=models.SET_NULL, null=True, blank=True, related_name="threads")
    started_at = models.DateTimeField(null=True, blank=True, help_text="First outbound message sent.")
    last_message_at = models.DateTimeField(null=True, blank=True)
    last_message_preview = models.CharField(max_length=200, blank=True, default="")
    last_direction = models.CharField(max_length=8, blank=True, default="")
    unread_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "address"], name="uniq_thread_address")]
        indexes = [models.Index(fields=["workspace", "-last_message_at"], name="thread_ws_activity")]

    def __str__(self) -> str:
        return self.address


class Message(models.Model):
    id = models.CharField(primary_key=True, max_length=24, default=new_id, editable=False)
    # Each of these FKs leads a composite index below (msg_ws_*, msg_thread_time, msg_lead_time,
    # msg_line_queue), so Django's own single-column index (and its _like twin) would only cost writes.
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="messages", db_index=False)
    thread = models.ForeignKey(Thread, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages",
                               db_index=False)
    lead = models.ForeignKey(Lead, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages",
                             db_index=False)
    line = models.ForeignKey(Line, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages",
                             db_index=False)
    # True when the integrator chose the line (fromLineId): the engine never moves it.
    line_pinned = models.BooleanField(default=False)
    direction = models.CharField(max_length=8, choices=Direction.choices, default=Direction.OUTBOUND)
    message_type = models.CharField(max_length=8, choices=MessageType.choices, default=MessageType.IMESSAGE)
    body = models.TextField(blank=True, default="")  # as submitted: the template, placeholders and all
    # The text as the channel personalized it when it sent (placeholders filled from the lead at that moment):
    # what the recipient got. "" until a channel rendered it (and for messages sent before the column existed).
    rendered_body = models.TextField(blank=True, default="")
    subject = models.CharField(max_length=200, blank=True, default="", help_text="Email subject (email messages).")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    queued_reason = models.CharField(max_length=32, blank=True, default="")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    sending_since = models.DateTimeField(null=True, blank=True)
    attempt_count = models.PositiveSmallIntegerField(default=0)
    # Recipient as given (or from the lead), and the address actually used.
    recipient_phone = models.CharField(max_length=32, blank=True, default="")
    recipient_email = models.CharField(max_length=254, blank=True, default="")
    recipient_name = models.CharField(max_length=200, blank=True, default="")
    send_to_address = models.CharField(max_length=254, blank=True, default="")
    from_line_phone = models.CharField(max_length=32, blank=True, default="")
    from_line_email = models.CharField(max_length=254, blank=True, default="")
    batch_id = models.CharField(max_length=200, blank=True, default="")
    correlation_id = models.CharField(max_length=200, blank=True, default="")
    execution_id = models.CharField(max_length=200, blank=True, default="")
    ghl_workflow_id = models.CharField(max_length=200, blank=True, default="")
    # Integration fields: the CRM records of the recipient when it was sent (the send body's, else the lead's).
    ghl_contact_id = models.CharField(max_length=100, blank=True, default="")
    ghl_location_id = models.CharField(max_length=100, blank=True, default="")
    hs_portal_id = models.CharField(max_length=100, blank=True, default="")
    hs_contact_id = models.CharField(max_length=100, blank=True, default="")
    # Campaign messages: the campaign, step and enrollment they belong to. Plain ids, no foreign keys: the
    # campaigns app sits above messaging (docs/architecture.md); one message per (enrollment, step).
    campaign_id = models.CharField(max_length=24, blank=True, default="")
    step_index = models.PositiveSmallIntegerField(null=True, blank=True)
    enrollment_id = models.CharField(max_length=24, blank=True, default="")
    # The lines this message may use, in order, each tried once (a campaign's step 0 tries the campaign's
    # lines); empty: the usual line choice (messaging.send.pacing).
    line_choices = models.JSONField(default=list, blank=True)
    lines_tried = models.JSONField(default=list, blank=True)
    # The operator who sent it from the Unibox or the admin (None for an API key).
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", db_index=False)
    # Scheduling and send-window settings.
    scheduled_date = models.DateTimeField(null=True, blank=True)
    timezone = models.CharField(max_length=64, blank=True, default="")
    send_window_start = models.CharField(max_length=5, blank=True, default="")
    send_window_end = models.CharField(max_length=5, blank=True, default="")
    allowed_days_of_week = models.JSONField(null=True, blank=True)
    # None = use the workspace default.
    send_fallback_sms_on_failed = models.BooleanField(null=True, blank=True)
    force_fallback = models.BooleanField(default=False)
    attachment_urls = models.JSONField(default=list, blank=True)
    attachment_names = models.JSONField(default=list, blank=True)
    # Delivery tracking.
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    external_message_id = models.CharField(max_length=100, blank=True, default="")
    # Text + attachments go out as parts of one send; a part that left the device is never sent again.
    parts_sent = models.JSONField(default=dict, blank=True)
    # Last time a sent message's receipt was polled from the relay (webhooks can be lost: #758).
    receipt_checked_at = models.DateTimeField(null=True, blank=True)
    is_new_conversation = models.BooleanField(null=True, blank=True)
    # Line capacity held by the current attempt (released if the send does not happen):
    # {"lineId", "day", "hour", "new": bool, "contact": bool}. None when nothing is held.
    reservation = models.JSONField(null=True, blank=True)
    # Errors and fallback.
    error = models.TextField(blank=True, default="")
    error_code = models.CharField(max_length=64, blank=True, default="")
    fallback_reason = models.CharField(max_length=300, blank=True, default="")
    checked_addresses = models.JSONField(default=list, blank=True)
    availability_from_cache = models.BooleanField(null=True, blank=True)
    fallback_sms_status = models.CharField(max_length=10, choices=FallbackStatus.choices, blank=True, default="")
    fallback_provider = models.CharField(max_length=16, blank=True, default="")
    fallback_external_id = models.CharField(max_length=100, blank=True, default="")
    fallback_error = models.TextField(blank=True, default="")
    fallback_sent_at = models.DateTimeField(null=True, blank=True)
    fallback_delivered_at = models.DateTimeField(null=True, blank=True)
    # Inbound messages: the outbound message they answer, and whether an operator read them.
    reply_to = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="replies")
    is_read = models.BooleanField(default=False)
    email_message_id = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            # The dispatcher's queue: only rows that can still be claimed are indexed.
            models.Index(fields=["next_attempt_at"], name="msg_due",
                         condition=Q(status__in=["pending", "queued", "scheduled"])),
            models.Index(fields=["sending_since"], name="msg_sending", condition=Q(status="sending")),
            # GET /api/messages, newest first: by creation time, the id breaking ties (ids only order by second).
            models.Index(fields=["workspace", "-created_at", "-id"], name="msg_ws_created"),
            models.Index(fields=["workspace", "status", "-created_at", "-id"], name="msg_ws_status_created"),
            models.Index(fields=["line", "status", "next_attempt_at"], name="msg_line_queue"),
            models.Index(fields=["thread", "created_at"], name="msg_thread_time"),
            models.Index(fields=["external_message_id"], name="msg_external_id",
                         condition=~Q(external_message_id="")),
            # An email reply's In-Reply-To/References → our outbound email (messaging.inbound).
            models.Index(fields=["workspace", "email_message_id"], name="msg_email_message_id",
                         condition=~Q(email_message_id="")),
            models.Index(fields=["fallback_external_id"], name="msg_fallback_external_id",
                         condition=~Q(fallback_external_id="")),
            models.Index(fields=["workspace", "direction", "-created_at"], name="msg_ws_direction"),
            models.Index(fields=["lead", "-created_at"], name="msg_lead_time"),
            models.Index(fields=["campaign_id", "step_index"], name="msg_campaign_step",
                         condition=~Q(campaign_id="")),
        ]
        constraints = [
            # A relay posts each inbound message to every line's webhook: store it once.
            models.UniqueConstraint(fields=["workspace", "external_message_id"], name="uniq_inbound_guid",
                                    condition=Q(direction="inbound") & ~Q(external_message_id="")),
            # A campaign step is created once per enrollment, whichever sweep gets there.
            models.UniqueConstraint(fields=["enrollment_id", "step_index"], name="uniq_enrollment_step",
                                    condition=~Q(enrollment_id="")),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.status}"


class MessageEvent(models.Model):
    """The timeline: every status change (and notable fact) with time and reason."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="events",
                                db_index=False)  # leads event_message_time
    at = models.DateTimeField()
    from_status = models.CharField(max_length=10, blank=True, default="")
    to_status = models.CharField(max_length=10, blank=True, default="")
    reason = models.CharField(max_length=64, blank=True, default="")
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["message", "at"], name="event_message_time"),
            # The reporting dashboard counts these per line and day (messaging.reporting); the timeline is
            # insert-only, so this costs one entry per counted change and nothing on message updates.
            models.Index(fields=["at"], name="event_report_at",
                         condition=Q(to_status__in=["sent", "delivered", "failed", "fallback"])
                         | Q(reason="read", to_status="")),
        ]


class SendAttempt(models.Model):
    """One try at handing a message to a relay or provider."""

    class Outcome(models.TextChoices):
        IN_FLIGHT = "in_flight"
        SENT = "sent"
        NOT_SENT = "not_sent"
        UNKNOWN = "unknown"  # must be verified against the relay before any retry

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attempts",
                                db_index=False)  # leads uniq_attempt_number
    number = models.PositiveSmallIntegerField()
    channel = models.CharField(max_length=16, default="relay")  # relay | twilio | ghl | webhook | smtp
    line = models.ForeignKey(Line, on_delete=models.SET_NULL, null=True, blank=True)
    temp_guid = models.CharField(max_length=100, blank=True, default="")
    to_address = models.CharField(max_length=254, blank=True, default="")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    request_summary = models.JSONField(default=dict, blank=True)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.IN_FLIGHT)
    error_class = models.CharField(max_length=32, blank=True, default="")
    error = models.TextField(blank=True, default="")
    external_id = models.CharField(max_length=100, blank=True, default="")
    cache_hit = models.BooleanField(null=True, blank=True)
    verify_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message", "channel", "number"], name="uniq_attempt_number")]
        indexes = [models.Index(fields=["temp_guid"], name="attempt_temp_guid", condition=~Q(temp_guid=""))]


class DedupGuard(models.Model):
    """The atomic duplicate guard: one live row per (workspace, recipient, body) fingerprint.

    Inserted with ON CONFLICT in the same transaction as the message, so two
    identical concurrent POSTs cannot both create a message (see messaging.dedup).
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, db_index=False)  # leads uniq_dedup_fingerprint
    fingerprint = models.CharField(max_length=64)
    message_id = models.CharField(max_length=24)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "fingerprint"], name="uniq_dedup_fingerprint")]
