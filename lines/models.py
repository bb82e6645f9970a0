"""Devices (one Mac relay each), lines (sending identities) and their usage counters."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models

from tuco.fields import EncryptedCharField
from tuco.ids import new_id
from tuco.models import Workspace


def _device_gap_default() -> int:
    return settings.TUCO_DEVICE_GAP_SECONDS


def _contact_gap_default() -> int:
    return settings.TUCO_CONTACT_GAP_SECONDS


def _webhook_secret() -> str:
    return secrets.token_urlsafe(24)


class Device(models.Model):
    """One physical Mac running a BlueBubbles server. Lines on it share its send gap."""

    id = models.CharField(primary_key=True, max_length=24, default=new_id, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="devices")
    name = models.CharField(max_length=200, blank=True, default="")
    relay_url = models.CharField(max_length=500)
    # Sent to the relay on every call (BlueBubbles reads it from the query string);
    # never logged, never returned by the API; encrypted at rest (tuco.fields).
    relay_password = EncryptedCharField(max_length=500)
    private_api = models.BooleanField(default=False)
    # Chat GUID service prefix for DMs: "iMessage", or "any" as macOS 26 (Tahoe) writes them.
    chat_guid_prefix = models.CharField(max_length=16, default="iMessage")
    os_version = models.CharField(max_length=32, blank=True, default="")
    device_gap_seconds = models.PositiveIntegerField(default=_device_gap_default)
    last_send_at = models.DateTimeField(null=True, blank=True)  # claimed (the gap reserved)
    # When the last send reached the relay: the gap is enforced again at the call (lines.capacity.relay_call_slot),
    # since the time from claim to call varies (attachment fetch, a busy worker).
    relay_called_at = models.DateTimeField(null=True, blank=True)
    last_availability_check_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "relay_url"], name="uniq_device_relay_url")]

    def __str__(self) -> str:
        return self.name or self.relay_url


class Line(models.Model):
    class Channel(models.TextChoices):
        PHONE = "phone"  # iMessage through the device relay
        EMAIL = "email"  # email over the line's SMTP settings

    class Health(models.TextChoices):
        HEALTHY = "healthy"
        UNHEALTHY = "unhealthy"

    id = models.CharField(primary_key=True, max_length=24, default=new_id, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="lines")
    device = models.ForeignKey(Device, on_delete=models.PROTECT, null=True, blank=True, related_name="lines")
    channel_type = models.CharField(max_length=8, choices=Channel.choices, default=Channel.PHONE)
    line_type = models.CharField(max_length=16, default="byon")
    phone = models.CharField(max_length=32, blank=True, default="")
    email = models.CharField(max_length=254, blank=True, default="")
    first_name = models.CharField(max_length=100, blank=True, default="")
    last_name = models.CharField(max_length=100, blank=True, default="")
    is_active = models.BooleanField(default=True)
    timezone = models.CharField(max_length=64, default="UTC")
    daily_total_limit = models.PositiveIntegerField(default=75)
    daily_new_limit = models.PositiveIntegerField(default=50)
    hourly_first_touch_limit = models.PositiveIntegerField(default=50)
    contact_gap_seconds = models.PositiveIntegerField(default=_contact_gap_default)
    availability_daily_cap = models.PositiveIntegerField(default=70)
    last_first_touch_at = models.DateTimeField(null=True, blank=True)  # claimed (the contact gap reserved)
    first_touch_called_at = models.DateTimeField(null=True, blank=True)  # reached the relay (see relay_called_at)
    health_status = models.CharField(max_length=16, choices=Health.choices, default=Health.HEALTHY)
    health_reason = models.CharField(max_length=500, blank=True, default="")
    health_checked_at = models.DateTimeField(null=True, blank=True)
    # Authenticates the relay's (and the inbound-mail service's) webhooks to /hooks/…/<id>?secret=…
    # Encrypted, not hashed: the URL carrying it is given to the relay again on every re-registration.
    # Compared with hmac.compare_digest after decryption (lines.hooks).
    webhook_secret = EncryptedCharField(max_length=64, default=_webhook_secret)
    webhook_registered_at = models.DateTimeField(null=True, blank=True)
    # Email lines: SMTP settings (password never logged or returned; encrypted at rest).
    smtp_host = models.CharField(max_length=255, blank=True, default="")
    smtp_port = models.PositiveIntegerField(default=587)
    smtp_username = models.CharField(max_length=255, blank=True, default="")
    smtp_password = EncryptedCharField(max_length=500, blank=True, default="")
    smtp_use_tls = models.BooleanField(default=False)
    smtp_use_ssl = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "is_active"], name="line_ws_active")]

    def __str__(self) -> str:
        return self.phone or self.email or self.id

    @property
    def is_healthy(self) -> bool:
        return self.health_status == self.Health.HEALTHY

    @property
    def display_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p) or str(self)


class LineDailyUsage(models.Model):
    """Today's counters of a line; `day` is the date in the line's timezone."""

    line = models.ForeignKey(Line, on_delete=models.CASCADE, related_name="daily_usage")
    day = models.DateField()
    total_count = models.PositiveIntegerField(default=0)
    new_count = models.PositiveIntegerField(default=0)
    availability_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["line", "day"], name="uniq_line_day")]


class LineHourlyUsage(models.Model):
    """First-touch sends of a line within one UTC hour (a smoothing cap)."""

    line = models.ForeignKey(Line, on_delete=models.CASCADE, related_name="hourly_usage")
    hour = models.DateTimeField()
    first_touch_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["line", "hour"], name="uniq_line_hour")]


class LineContact(models.Model):
    """A recipient this line has messaged: the first row makes a send a 'new conversation'."""

    line = models.ForeignKey(Line, on_delete=models.CASCADE, related_name="contacts")
    address = models.CharField(max_length=254)
    first_message_id = models.CharField(max_length=24)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["line", "address"], name="uniq_line_contact")]


class AvailabilityResult(models.Model):
    """Cached iMessage availability of an address within a workspace (positive and negative)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE)
    address = models.CharField(max_length=254)
    available = models.BooleanField()
    checked_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    line = models.ForeignKey(Line, on_delete=models.SET_NULL, null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "address"], name="uniq_availability_address")]
