"""OpenAPI descriptions of the fallback configuration API (documentation only; see tuco.schema_fields)."""

from __future__ import annotations

from rest_framework import serializers

from tuco.schema_fields import Error, ndt, nstr

__all__ = ["Error", "FallbackConfigDocument", "FallbackConfigPatch"]

PROVIDERS = ["twilio", "ghl", "webhook"]


class TwilioInput(serializers.Serializer):
    accountSid = serializers.CharField(required=False, allow_null=True, help_text="'AC' + 32 hex characters")
    authToken = serializers.CharField(required=False, allow_null=True, write_only=True,
                                      help_text="Write-only. Omit (or send the masked value back) to keep it.")
    fromNumber = serializers.CharField(required=False, allow_null=True,
                                       help_text="E.164 number of the Twilio account, e.g. +14155550100")


class GhlInput(serializers.Serializer):
    locationId = serializers.CharField(required=False, allow_null=True)
    apiToken = serializers.CharField(required=False, allow_null=True, write_only=True,
                                     help_text="Private-integration token of the location. Write-only.")


class WebhookInput(serializers.Serializer):
    url = serializers.URLField(required=False, allow_null=True,
                               help_text="https required in production; private addresses refused.")
    secret = serializers.CharField(required=False, allow_null=True, write_only=True, min_length=16,
                                   help_text="HMAC key for X-Tuco-Signature. Omitted on first save: Tuco "
                                             "generates one and returns it once. null: generate a new one.")


class FallbackConfigPatch(serializers.Serializer):
    provider = serializers.ChoiceField(choices=PROVIDERS, required=False, allow_null=True,
                                       help_text="Which fallback is active; null turns fallback off "
                                                 "(stored credentials are kept).")
    twilio = TwilioInput(required=False, allow_null=True, help_text="Partial: omitted keys keep their "
                                                                    "value; null or \"\" clears one; null "
                                                                    "for the object clears all.")
    ghl = GhlInput(required=False, allow_null=True)
    webhook = WebhookInput(required=False, allow_null=True)
    sendFallbackSmsOnFailed = serializers.BooleanField(
        required=False, help_text="Workspace default for messages that don't set sendFallbackSmsOnFailed.")


class TwilioOutput(serializers.Serializer):
    accountSid = nstr()
    authToken = nstr(help_text="Masked: '••••' + last 4 characters, or null when unset")
    authTokenSet = serializers.BooleanField()
    fromNumber = nstr()
    configured = serializers.BooleanField()


class GhlOutput(serializers.Serializer):
    locationId = nstr()
    apiToken = nstr(help_text="Masked")
    apiTokenSet = serializers.BooleanField()
    configured = serializers.BooleanField()


class WebhookOutput(serializers.Serializer):
    url = nstr()
    secret = nstr(help_text="Masked, except in the PATCH response that generated it (secretGenerated)")
    secretSet = serializers.BooleanField()
    secretGenerated = serializers.BooleanField(required=False)
    configured = serializers.BooleanField()


class FallbackConfigDocument(serializers.Serializer):
    provider = serializers.ChoiceField(choices=PROVIDERS, allow_null=True)
    configured = serializers.BooleanField(help_text="The chosen provider has every required setting")
    twilio = TwilioOutput()
    ghl = GhlOutput()
    webhook = WebhookOutput()
    sendFallbackSmsOnFailed = serializers.BooleanField()
    statusCallbackUrl = serializers.CharField(help_text="Where Twilio posts delivery updates for this workspace")
    inboundSmsUrl = serializers.CharField(help_text="Set as the Twilio number's incoming-message webhook")
    updatedAt = ndt()
    ignoredFields = serializers.ListField(child=serializers.CharField(), required=False,
                                          help_text="PATCH only: unknown fields of the request, ignored")
