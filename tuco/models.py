"""Tenancy and platform rows: workspaces, API keys, members, idempotency records."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from tuco.ids import new_id


class Workspace(models.Model):
    class BillingStatus(models.TextChoices):
        ACTIVE = "active"
        PAST_DUE = "past_due"

    id = models.CharField(primary_key=True, max_length=24, default=new_id, editable=False)
    name = models.CharField(max_length=200)
    billing_status = models.CharField(max_length=16, choices=BillingStatus.choices, default=BillingStatus.ACTIVE)
    # Per-group overrides of the API rate limits, e.g. {"send": 120} (requests/minute).
    rate_limits = models.JSONField(default=dict, blank=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="WorkspaceMember", blank=True,
                                     related_name="workspaces")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"

    @property
    def is_read_only(self) -> bool:
        return self.billing_status == self.BillingStatus.PAST_DUE


class WorkspaceMember(models.Model):
    """Which staff users may see a workspace in the admin / Unibox."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "user"], name="uniq_workspace_member")]


class ApiKey(models.Model):
    """A workspace API key. Only the SHA-256 of the key is stored; the key is shown once."""

    id = models.CharField(primary_key=True, max_length=24, default=new_id, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=200, default="default")
    prefix = models.CharField(max_length=16, help_text="First characters of the key, for recognising it.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class IdempotencyRecord(models.Model):
    """A stored response for an Idempotency-Key, replayed byte for byte within 24 h."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    key = models.CharField(max_length=255)
    request_fingerprint = models.CharField(max_length=64)
    completed = models.BooleanField(default=False)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.BinaryField(null=True)
    response_content_type = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "key"], name="uniq_idempotency_key")]
