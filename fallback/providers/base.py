"""The fallback/SMS provider interface and its registry.

A provider is built from one workspace's `FallbackConfig` (credentials are
passed in, never read from settings or class attributes) and does one thing:
hand an SMS to its service. Each provider module makes its HTTP calls through
exactly one seam so tests mock one place (`responses` sees all of them).

Errors are classified at the provider, once, as a `tuco.send_errors.SendError`
(`permanent`, `maybe_sent`); retrying a maybe-sent request risks a duplicate
SMS unless the provider deduplicates on our idempotency key.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from tuco.send_errors import SendError

if TYPE_CHECKING:
    from fallback.models import FallbackConfig


@dataclass(frozen=True)
class ProviderResult:
    """The provider accepted the SMS. `status` is the provider's own word, normalized to ours."""

    external_id: str
    status: str = "sent"
    response_code: int | None = None


@dataclass(frozen=True)
class SendContext:
    """What a provider may pass along besides the SMS itself (the custom webhook does)."""

    message_id: str = ""
    workspace_id: str = ""
    reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class SmsProvider(Protocol):
    name: ClassVar[str]
    # True when the provider deduplicates on `idempotency_key`, so an ambiguous failure may be retried.
    supports_idempotency: ClassVar[bool]

    def send_sms(self, *, to: str, body: str, idempotency_key: str, status_callback_url: str | None,
                 context: SendContext | None = None) -> ProviderResult:
        """Hand one SMS to the provider. Raises SendError."""
        ...

    def request_summary(self, *, to: str, body: str) -> dict[str, Any]:
        """What a SendAttempt row records about the request: never credentials."""
        ...


# name → "module.Class"; imported lazily so a provider's SDK loads only when used.
REGISTRY: dict[str, str] = {
    "twilio": "fallback.providers.twilio.TwilioProvider",
    "ghl": "fallback.providers.ghl.GhlProvider",
    "webhook": "fallback.providers.webhook.WebhookProvider",
}

PROVIDER_NAMES: tuple[str, ...] = tuple(REGISTRY)


def provider_class(name: str) -> Any:
    try:
        dotted = REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown fallback provider {name!r}") from None
    module_name, _, class_name = dotted.rpartition(".")
    return getattr(importlib.import_module(module_name), class_name)


def provider_for(config: FallbackConfig, name: str | None = None) -> SmsProvider:
    """The provider `name` (default: the workspace's chosen one) built from `config`."""
    chosen = name or config.provider
    if not chosen:
        raise ValueError("no fallback provider chosen")
    provider: SmsProvider = provider_class(chosen).from_config(config)
    return provider


def error_from_requests(exc: Exception, *, prefix: str) -> SendError:
    """Classify a `requests` transport failure: could the request have reached the provider?"""
    import requests
    from urllib3.exceptions import ProtocolError

    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return SendError(f"{prefix}: connection timed out", "TIMEOUT", False)
    if isinstance(exc, requests.exceptions.Timeout):
        # The request went out; the answer did not come back in time.
        return SendError(f"{prefix}: no response in time", "TIMEOUT", False, maybe_sent=True)
    if isinstance(exc, requests.exceptions.ConnectionError):
        aborted = any(isinstance(arg, ProtocolError) for arg in exc.args)
        return SendError(f"{prefix}: connection failed ({type(exc).__name__})", "CONNECTION_ERROR", False,
                             maybe_sent=aborted)
    return SendError(f"{prefix}: request failed ({type(exc).__name__})", "REQUEST_ERROR", False,
                         maybe_sent=True)
