"""Per-workspace fallback configuration: where a message goes when iMessage can't carry it."""

from __future__ import annotations

from django.db import models

from tuco.fields import EncryptedCharField
from tuco.models import Workspace


class FallbackConfig(models.Model):
    class Provider(models.TextChoices):
        TWILIO = "twilio"
        GHL = "ghl"
        WEBHOOK = "webhook"

    # The provider credentials (auth token, API token, signing secret) are encrypted at rest (tuco.fields).
    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="fallback_config")
    provider = models.CharField(max_length=16, choices=Provider.choices, null=True, blank=True)
    twilio_account_sid = models.CharField(max_length=64, blank=True, default="")
    twilio_auth_token = EncryptedCharField(max_length=128, blank=True, default="")
    twilio_from_number = models.CharField(max_length=32, blank=True, default="")
    ghl_location_id = models.CharField(max_length=128, blank=True, default="")
    ghl_api_token = EncryptedCharField(max_length=500, blank=True, default="")
    webhook_url = models.CharField(max_length=1000, blank=True, default="")
    webhook_secret = EncryptedCharField(max_length=200, blank=True, default="")
    # Workspace default for messages that don't set sendFallbackSmsOnFailed.
    send_fallback_sms_on_failed = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.workspace_id}: {self.provider or 'none'}"

    @property
    def is_configured(self) -> bool:
        if self.provider == self.Provider.TWILIO:
            return bool(self.twilio_account_sid and self.twilio_auth_token and self.twilio_from_number)
        if self.provider == self.Provider.GHL:
            return bool(self.ghl_location_id and self.ghl_api_token)
        if self.provider == self.Provider.WEBHOOK:
            return bool(self.webhook_url)
        return False

    @property
    def twilio_configured(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token and self.twilio_from_number)
