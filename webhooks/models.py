"""Outgoing webhook rows (endpoints, outbox events, delivery attempts). Imported by tuco.models.

- `WebhookEndpoint`: an integrator's URL, its signing secret and subscribed events.
- `WebhookEvent`: the outbox. One row per (event, endpoint), written in the
  transaction of the fact it reports; the database is the queue of truth.
- `WebhookDelivery`: one row per HTTP try of an event (the delivery log).
"""

from __future__ import annotations

import json
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils import timezone

from tuco.fields import EncryptedCharField
from tuco.ids import new_id

__all__ = ["EVENT_TYPES", "WebhookDelivery", "WebhookEndpoint", "WebhookEvent"]

# The events an endpoint can subscribe to (create/update validate against this list).
EVENT_TYPES = (
    "message.sent",
    "message.delivered",
    "message.failed",
    "message.fallback",
    "message.opened",
    "message.reply",
)


class WebhookEndpoint(models.Model):
    class PausedBy(models.TextChoices):
        NONE = "", "not paused"
        USER = "user", "paused by the integrator or an operator"
        FAILURES = "failures", "auto-paused after consecutive failures"

    id = models.CharField(primary_key=True, max_length=24, default=new_id, editable=False)
    workspace = models.ForeignKey("tuco.Workspace", on_delete=models.CASCADE, related_name="webhook_endpoints")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    url = models.CharField(max_length=2000)
    # Encrypted at rest, not hashed, because every delivery is signed with it; the API shows it once.
    secret = EncryptedCharField(max_length=100)
    events = models.JSONField(default=list)
    is_active = models.BooleanField(default=True)
    paused_by = models.CharField(max_length=16, choices=PausedBy.choices, blank=True, default="")
    paused_reason = models.CharField(max_length=500, blank=True, default="")
    paused_at = models.DateTimeField(null=True, blank=True)
    # Consecutive failed tries (reset by any success); drives the auto-pause.
    failure_count = models.PositiveIntegerField(default=0)
    last_triggered_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "tuco_webhookendpoint"  # the table it had in the tuco app: moved by state, not rewritten
        indexes = [models.Index(fields=["workspace", "-created_at"], name="whep_ws_created")]

    def __str__(self) -> str:
        return f"{self.name} ({self.url})"


class WebhookEvent(models.Model):
    """One event for one endpoint. `event_id` is the stable id sent on every try (X-Tuco-Event-Id).

    `id` (a sequence) is the insertion order: events of one message are inserted
    while the message row is locked, so a lower id means an earlier event.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERING = "delivering"
        DELIVERED = "delivered"
        FAILED = "failed"  # the last try failed; another is scheduled at next_attempt_at
        DEAD = "dead"  # retries exhausted

    # A worker may claim these once next_attempt_at is due.
    CLAIMABLE = (Status.PENDING, Status.FAILED)
    # Not yet finished: later events of the same message to the same endpoint wait for these.
    OPEN = (Status.PENDING, Status.DELIVERING, Status.FAILED)
    REPLAYABLE = (Status.DELIVERED, Status.DEAD)

    id = models.BigAutoField(primary_key=True)
    event_id = models.CharField(max_length=24, unique=True, default=new_id, editable=False)
    workspace = models.ForeignKey("tuco.Workspace", on_delete=models.CASCADE, related_name="+")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="outbox")
    event_type = models.CharField(max_length=32)
    # Plain id, not a foreign key: the outbox outlives nothing and must not couple to messaging.
    message_id = models.CharField(max_length=24, blank=True, default="")
    # The exact JSON bytes sent and signed, built when the event happened (a snapshot).
    body = models.TextField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)
    # Tries since the event was recorded or last replayed: indexes the backoff schedule.
    round_attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # When a task for it was last handed to the broker (the sweep re-enqueues only stale ones).
    enqueued_at = models.DateTimeField(null=True, blank=True)
    delivering_since = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "tuco_webhookevent"
        indexes = [
            # The beat sweep's queue: only rows that can still be claimed are indexed.
            models.Index(fields=["next_attempt_at"], name="whev_due", condition=Q(status__in=["pending", "failed"])),
            models.Index(fields=["delivering_since"], name="whev_delivering", condition=Q(status="delivering")),
            # The per-message ordering check ("is an earlier event of this message still open?").
            models.Index(fields=["endpoint", "message_id", "id"], name="whev_open_by_message",
                         condition=Q(status__in=["pending", "delivering", "failed"])),
            models.Index(fields=["endpoint", "-id"], name="whev_endpoint_recent"),
            models.Index(fields=["message_id"], name="whev_message", condition=~Q(message_id="")),
        ]
        constraints = [
            # A read receipt is reported once per message and endpoint, however often the relay repeats it.
            models.UniqueConstraint(fields=["endpoint", "message_id"], condition=Q(event_type="message.opened"),
                                    name="uniq_whev_opened_once"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} {self.status}"

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)


class WebhookDelivery(models.Model):
    """One HTTP try of an event: what was sent where, and what came back."""

    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    attempt = models.PositiveIntegerField()
    at = models.DateTimeField()
    url = models.CharField(max_length=2000)
    success = models.BooleanField(default=False)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    response_snippet = models.CharField(max_length=500, blank=True, default="")
    error = models.TextField(blank=True, default="")

    class Meta:
        db_table = "tuco_webhookdelivery"
        constraints = [models.UniqueConstraint(fields=["event", "attempt"], name="uniq_whdelivery_attempt")]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"try {self.attempt} of {self.event_id}: {self.status_code or self.error[:40]}"
