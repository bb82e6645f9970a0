"""The workspace fallback configuration: parse + validate a PATCH, write it, and render it with secrets masked.

Wire shape (GET and PATCH response):

    {"provider": "twilio" | "ghl" | "webhook" | null, "configured": bool,
     "twilio": {"accountSid", "authToken": "••••1234" | null, "authTokenSet", "fromNumber", "configured"},
     "ghl": {"locationId", "apiToken": masked | null, "apiTokenSet", "configured"},
     "webhook": {"url", "secret": masked | null, "secretSet", "configured"},
     "sendFallbackSmsOnFailed": bool, "statusCallbackUrl", "updatedAt"}

Secrets are write-only: they come back as `••••` plus the last four characters
(only when the secret is long enough that four characters give little away).
A PATCH is partial: an omitted key keeps the stored value, `null` or "" clears
it, and a masked value sent back unchanged (a GET → edit → PATCH round trip)
keeps the stored secret. The whole PATCH is validated before anything is
written, so an invalid PATCH changes nothing. The one exception to
write-only: when the webhook provider is saved without a secret, Tuco
generates one and returns it in full in that PATCH response only (like an
API key), because the receiver needs it to verify signatures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction

from fallback.models import FallbackConfig
from fallback.providers.base import PROVIDER_NAMES
from tuco.addresses import InvalidAddress, normalize_phone
from tuco.body_fields import require_json_object
from tuco.errors import BadRequest
from tuco.logging import get_logger
from tuco.models import Workspace
from tuco.timefmt import iso
from tuco.urlsafety import UnsafeUrl, check_url
from webhooks.signing import new_secret

log = get_logger(__name__)

MASK = "••••"
INVALID = "INVALID_FALLBACK_CONFIG"
INCOMPLETE = "FALLBACK_CONFIG_INCOMPLETE"

ACCOUNT_SID_RE = re.compile(r"^AC[0-9a-fA-F]{32}$")
AUTH_TOKEN_RE = re.compile(r"^[0-9a-fA-F]{32}$")
GHL_LOCATION_RE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
TOKEN_RE = re.compile(r"^\S{1,500}$")
SECRET_MIN_LENGTH = 16

# Wire name → model field, per section; which wire names are secrets.
SECTIONS: dict[str, dict[str, str]] = {
    "twilio": {"accountSid": "twilio_account_sid", "authToken": "twilio_auth_token",
               "fromNumber": "twilio_from_number"},
    "ghl": {"locationId": "ghl_location_id", "apiToken": "ghl_api_token"},
    "webhook": {"url": "webhook_url", "secret": "webhook_secret"},
}
SECRETS = {"authToken", "apiToken", "secret"}
REQUIRED: dict[str, tuple[str, ...]] = {
    "twilio": ("accountSid", "authToken", "fromNumber"),
    "ghl": ("locationId", "apiToken"),
    "webhook": ("url",),
}
# Keys a client may echo back from a GET; they are derived, so ignored on input.
READ_ONLY_TOP = {"configured", "statusCallbackUrl", "inboundSmsUrl", "updatedAt"}
READ_ONLY_SECTION = {"configured", "authTokenSet", "apiTokenSet", "secretSet", "secretGenerated"}


def _invalid(message: str, field_name: str) -> BadRequest:
    return BadRequest(message, code=INVALID, field=field_name)


@dataclass
class ConfigPatch:
    """A validated PATCH: only what the request set, already normalized."""

    provider: str | None = None
    provider_set: bool = False
    send_fallback_sms_on_failed: bool | None = None
    fields: dict[str, str] = field(default_factory=dict)  # model field → new value ("" clears)
    ignored: list[str] = field(default_factory=list)  # unknown keys (ignored, named back to the caller)


def _validate_value(section: str, key: str, value: str) -> str:
    """Normalize one non-empty value, or raise a 400 naming the field."""
    name = f"{section}.{key}"
    if section == "twilio" and key == "accountSid":
        if not ACCOUNT_SID_RE.match(value):
            raise _invalid(f"{name} must be 'AC' followed by 32 hexadecimal characters", name)
        return value
    if section == "twilio" and key == "authToken":
        if not AUTH_TOKEN_RE.match(value):
            raise _invalid(f"{name} must be the 32-character Twilio auth token", name)
        return value
    if section == "twilio" and key == "fromNumber":
        if not value.startswith("+"):
            raise _invalid(f"{name} must be an E.164 phone number (e.g. +14155550100)", name)
        try:
            return normalize_phone(value)
        except InvalidAddress:
            raise _invalid(f"{name} {value!r} is not a valid E.164 phone number", name) from None
    if section == "ghl" and key == "locationId":
        if not GHL_LOCATION_RE.match(value):
            raise _invalid(f"{name} must be the GHL location id (letters, digits, - and _)", name)
        return value
    if section == "ghl" and key == "apiToken":
        if not TOKEN_RE.match(value):
            raise _invalid(f"{name} must be a token without spaces (at most 500 characters)", name)
        return value
    if section == "webhook" and key == "url":
        if len(value) > 1000:
            raise _invalid(f"{name} must be at most 1000 characters", name)
        try:
            return check_url(value)
        except UnsafeUrl as exc:
            raise _invalid(f"{name} is not allowed: {exc}", name) from None
    if section == "webhook" and key == "secret":
        if len(value) < SECRET_MIN_LENGTH or len(value) > 200 or not TOKEN_RE.match(value):
            raise _invalid(f"{name} must be {SECRET_MIN_LENGTH}-200 characters without spaces", name)
        return value
    raise _invalid(f"Unknown field {name!r}", name)  # pragma: no cover - keys are checked first


def parse_patch(data: Any) -> ConfigPatch:
    """Validate a PATCH body into a ConfigPatch; raises BadRequest (nothing is written here)."""
    require_json_object(data, code=INVALID)
    patch = ConfigPatch()
    for key, value in data.items():
        if key in READ_ONLY_TOP:
            continue
        if key == "provider":
            if value is not None and value not in PROVIDER_NAMES:
                raise _invalid("provider must be one of 'twilio', 'ghl', 'webhook' or null", "provider")
            patch.provider, patch.provider_set = value, True
        elif key == "sendFallbackSmsOnFailed":
            if not isinstance(value, bool):
                raise _invalid("sendFallbackSmsOnFailed must be true or false", key)
            patch.send_fallback_sms_on_failed = value
        elif key in SECTIONS:
            _parse_section(key, value, patch)
        else:
            patch.ignored.append(str(key)[:100])  # the API-wide rule: unknown fields are ignored
    return patch


def _parse_section(section: str, value: Any, patch: ConfigPatch) -> None:
    columns = SECTIONS[section]
    if value is None:  # "twilio": null forgets every Twilio setting
        for column in columns.values():
            patch.fields[column] = ""
        return
    if not isinstance(value, dict):
        raise _invalid(f"{section} must be an object or null", section)
    for key, raw in value.items():
        if key in READ_ONLY_SECTION:
            continue
        name = f"{section}.{key}"
        if key not in columns:
            patch.ignored.append(name[:100])
            continue
        if raw is not None and not isinstance(raw, str):
            raise _invalid(f"{name} must be a string or null", name)
        text = (raw or "").strip()
        if key in SECRETS and text.startswith(MASK):
            continue  # the masked value from a GET, sent back unchanged
        patch.fields[columns[key]] = _validate_value(section, key, text) if text else ""


def _missing_required(config: FallbackConfig) -> str | None:
    if not config.provider:
        return None
    for key in REQUIRED[config.provider]:
        if not getattr(config, SECTIONS[config.provider][key]):
            return f"{config.provider}.{key}"
    return None


@dataclass(frozen=True)
class UpdateResult:
    config: FallbackConfig
    generated_secret: str = ""
    ignored: list[str] = field(default_factory=list)


def fallback_config_update(*, workspace: Workspace, data: Any) -> UpdateResult:
    """Apply a PATCH to the workspace's fallback config; all or nothing."""
    patch = parse_patch(data)
    generated = ""
    with transaction.atomic():
        config, _ = FallbackConfig.objects.select_for_update().get_or_create(workspace=workspace)
        for column, value in patch.fields.items():
            setattr(config, column, value)
        if patch.provider_set:
            config.provider = patch.provider
        if patch.send_fallback_sms_on_failed is not None:
            config.send_fallback_sms_on_failed = patch.send_fallback_sms_on_failed
        missing = _missing_required(config)
        if missing:
            # Raising inside the atomic block rolls back a row created just now, too.
            raise BadRequest(f"{missing} is required when provider is {config.provider!r}", code=INCOMPLETE,
                             field=missing)
        if config.webhook_url and not config.webhook_secret:
            generated = config.webhook_secret = new_secret()
        config.save()
    log.info("fallback.config_updated", workspaceId=workspace.pk, provider=config.provider,
             configured=config.is_configured, changed=sorted(patch.fields), secretGenerated=bool(generated))
    return UpdateResult(config=config, generated_secret=generated, ignored=patch.ignored)


def fallback_config_get(*, workspace_id: str) -> FallbackConfig | None:
    return FallbackConfig.objects.filter(workspace_id=workspace_id).first()


def twilio_inbound_url(workspace_id: str) -> str:
    """Set as the Twilio number's "A message comes in" webhook: SMS replies land on their threads."""
    return f"{settings.TUCO_PUBLIC_URL}/hooks/twilio/inbound?ws={workspace_id}"


def twilio_status_callback_url(workspace_id: str) -> str:
    """Where Twilio posts delivery updates for this workspace's SMS (signed with its auth token)."""
    return f"{settings.TUCO_PUBLIC_URL}/hooks/twilio/status?ws={workspace_id}"


def mask_secret(value: str) -> str | None:
    if not value:
        return None
    return MASK + value[-4:] if len(value) >= 12 else MASK


def fallback_config_document(config: FallbackConfig | None, *, workspace_id: str,
                             generated_secret: str = "") -> dict[str, Any]:
    """The API representation; secrets masked (except a secret generated by this very request)."""
    c = config or FallbackConfig(workspace_id=workspace_id)
    webhook: dict[str, Any] = {"url": c.webhook_url or None, "secret": mask_secret(c.webhook_secret),
                               "secretSet": bool(c.webhook_secret), "configured": bool(c.webhook_url)}
    if generated_secret:
        webhook["secret"] = generated_secret
        webhook["secretGenerated"] = True
    return {
        "provider": c.provider or None,
        "configured": c.is_configured,
        "twilio": {"accountSid": c.twilio_account_sid or None, "authToken": mask_secret(c.twilio_auth_token),
                   "authTokenSet": bool(c.twilio_auth_token), "fromNumber": c.twilio_from_number or None,
                   "configured": c.twilio_configured},
        "ghl": {"locationId": c.ghl_location_id or None, "apiToken": mask_secret(c.ghl_api_token),
                "apiTokenSet": bool(c.ghl_api_token),
                "configured": bool(c.ghl_location_id and c.ghl_api_token)},
        "webhook": webhook,
        "sendFallbackSmsOnFailed": c.send_fallback_sms_on_failed,
        "statusCallbackUrl": twilio_status_callback_url(workspace_id),
        "inboundSmsUrl": twilio_inbound_url(workspace_id),
        "updatedAt": iso(c.updated_at) if config is not None else None,
    }
