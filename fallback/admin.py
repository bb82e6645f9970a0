"""Operator admin for per-workspace fallback configuration.

Writes go through `fallback_config_update`, the API's PATCH path, so the admin
gets the same validation (Twilio SID/token shapes, E.164 numbers, webhook URL
safety, required fields per provider). Provider credentials are write-only:
the pages show them masked the way the API does, never in full.
"""

from __future__ import annotations

import copy
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.html import format_html

from fallback.config import SECTIONS, fallback_config_update, mask_secret, parse_patch
from fallback.models import FallbackConfig
from tuco.admin import WorkspaceConsistentForm, WorkspaceListFilter, WorkspaceScopedAdmin, secret_input
from tuco.errors import BadRequest

SECRET_COLUMNS = ("twilio_auth_token", "ghl_api_token", "webhook_secret")
PLAIN_COLUMNS = ("twilio_account_sid", "twilio_from_number", "ghl_location_id", "webhook_url")


def _form_field_for(wire_name: str) -> str | None:
    """'twilio.authToken' → 'new_twilio_auth_token'; 'provider' → 'provider'."""
    if wire_name == "sendFallbackSmsOnFailed":
        return "send_fallback_sms_on_failed"
    if wire_name == "provider":
        return "provider"
    section, _, key = wire_name.partition(".")
    column = SECTIONS.get(section, {}).get(key)
    if column is None:
        return None
    return f"new_{column}" if column in SECRET_COLUMNS else column


class FallbackConfigForm(WorkspaceConsistentForm):
    new_twilio_auth_token = secret_input("Twilio auth token")
    new_ghl_api_token = secret_input("GHL API token")
    new_webhook_secret = secret_input("Webhook signing secret")

    class Meta:
        model = FallbackConfig
        fields = ("workspace", "provider", "send_fallback_sms_on_failed", *PLAIN_COLUMNS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.patch_data: dict[str, Any] = {}
        for column in SECRET_COLUMNS:
            current = "" if self.instance._state.adding else getattr(self.instance, column, "")
            masked = mask_secret(current)
            self.fields[f"new_{column}"].help_text = (
                f"Write-only. Currently {masked} (set); leave blank to keep it." if masked
                else "Write-only. Currently not set.")

    def _patch(self, data: dict[str, Any]) -> dict[str, Any]:
        """The PATCH /api/workspace/fallback-config body this form amounts to."""
        patch: dict[str, Any] = {"provider": data.get("provider") or None,
                                 "sendFallbackSmsOnFailed": bool(data.get("send_fallback_sms_on_failed"))}
        for section, columns in SECTIONS.items():
            body: dict[str, Any] = {}
            for key, column in columns.items():
                if column in SECRET_COLUMNS:
                    if data.get(f"new_{column}"):
                        body[key] = data[f"new_{column}"]  # blank keeps the stored secret
                elif column in self.fields:
                    body[key] = data.get(column) or ""
            patch[section] = body
        return patch

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        self.patch_data = self._patch(data)
        try:
            parsed = parse_patch(self.patch_data)
        except BadRequest as exc:
            self.add_error(_form_field_for(str(exc.extra.get("field", ""))), exc.error)
            return data
        # The service refuses an incomplete provider; say so on the form instead of failing the save.
        preview = copy.copy(self.instance)
        for column, value in parsed.fields.items():
            setattr(preview, column, value)
        preview.provider = parsed.provider
        if preview.provider and not preview.is_configured:
            self.add_error("provider", f"The {preview.provider} provider needs all of its settings filled in.")
        return data


@admin.register(FallbackConfig)
class FallbackConfigAdmin(WorkspaceScopedAdmin):
    form = FallbackConfigForm
    list_display = ("workspace", "provider", "configured", "send_fallback_sms_on_failed", "updated_at")
    list_select_related = ("workspace",)
    list_filter = ("provider", "send_fallback_sms_on_failed", WorkspaceListFilter)
    search_fields = ("workspace__name", "=workspace__id")
    readonly_fields = ("configured", "twilio_auth_token_state", "ghl_api_token_state", "webhook_secret_state",
                       "updated_at")
    fieldsets = (
        (None, {"fields": ("workspace", "provider", "configured", "send_fallback_sms_on_failed")}),
        ("Twilio", {"fields": ("twilio_account_sid", "twilio_auth_token_state", "new_twilio_auth_token",
                               "twilio_from_number")}),
        ("GoHighLevel", {"fields": ("ghl_location_id", "ghl_api_token_state", "new_ghl_api_token")}),
        ("Custom webhook", {"fields": ("webhook_url", "webhook_secret_state", "new_webhook_secret")}),
        ("Record", {"fields": ("updated_at",)}),
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # One config per workspace: the workspace is chosen when the config is created.
        return (*self.readonly_fields, "workspace") if obj is not None else self.readonly_fields

    @admin.display(description="configured", boolean=True)
    def configured(self, obj: FallbackConfig) -> bool:
        return obj.is_configured

    @admin.display(description="Twilio auth token")
    def twilio_auth_token_state(self, obj: FallbackConfig) -> str:
        return mask_secret(obj.twilio_auth_token) or "not set"

    @admin.display(description="GHL API token")
    def ghl_api_token_state(self, obj: FallbackConfig) -> str:
        return mask_secret(obj.ghl_api_token) or "not set"

    @admin.display(description="webhook secret")
    def webhook_secret_state(self, obj: FallbackConfig) -> str:
        return mask_secret(obj.webhook_secret) or "not set"

    def save_model(self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool) -> None:
        workspace = obj.workspace if change else form.cleaned_data["workspace"]
        result = fallback_config_update(workspace=workspace, data=form.patch_data)  # type: ignore[attr-defined]
        # The admin continues with `obj` (history entry, redirect): make it the saved row.
        for field in FallbackConfig._meta.concrete_fields:
            setattr(obj, field.attname, getattr(result.config, field.attname))
        obj._state.adding = False
        if result.generated_secret:
            messages.warning(request, format_html(
                "A webhook signing secret was generated. Copy it now, it will not be shown again: "
                '<code class="tuco-raw-key">{}</code>', result.generated_secret))
