"""The fallback/SMS provider interface and its registry.

A provider is built from one workspace's `FallbackConfig` (credentials are
passed in, never read from settings or class attributes) and does one thing:
hand an SMS to its service. Each provider module makes its HTTP calls through
exactly one seam so tests mock one place (`responses` sees all of them).

Errors are classified at the provider, once:
- `permanent`: retrying the same request cannot succeed (bad number, opted
  out, bad credentials).
- `maybe_sent`: the request may have reached the provider (read timeout, 5xx
  after the body was sent); retrying risks a duplicate SMS unless the
  provider deduplicates on our idempotency key.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

if TYPE_CHECKING:
    from fallback.models import FallbackConfig


@dataclass(frozen=True)
class ProviderResult:
    """The provider accepted the SMS. `status` is the provider's own word, normalized to ours."""

    external_id: str
    status: str = "sent"
    response_code: int | None = None


class ProviderError(Exception):
    """The provider did not take the SMS (or we cannot tell whether it did)."""

    def __init__(self, message: str, code: str, permanent: bool, *, response_code: int | None = None,
                 maybe_sent: bool = False, recipient_opted_out: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.permanent = permanent
        self.response_code = response_code
        self.maybe_sent = maybe_sent
        self.recipient_opted_out = recipient_opted_out

    @property
    def error_class(self) -> str:
        if self.permanent:
            return "permanent"
        return "unknown" if self.maybe_sent else "transient"

    def __repr__(self) -> str:
        return f"ProviderError({self.message!r}, code={self.code!r}, permanent={self.permanent})"


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
        """Hand one SMS to the provider. Raises ProviderError."""
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


def error_from_requests(exc: Exception, *, prefix: str) -> ProviderError:
    """Classify a `requests` transport failure: could the request have reached the provider?"""
    import requests
    from urllib3.exceptions import ProtocolError

    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return ProviderError(f"{prefix}: connection timed out", "TIMEOUT", False)
    if isinstance(exc, requests.exceptions.Timeout):
        # The request went out; the answer did not come back in time.
        return ProviderError(f"{prefix}: no response in time", "TIMEOUT", False, maybe_sent=True)
    if isinstance(exc, requests.exceptions.ConnectionError):
        aborted = any(isinstance(arg, ProtocolError) for arg in exc.args)
        return ProviderError(f"{prefix}: connection failed ({type(exc).__name__})", "CONNECTION_ERROR", False,
                             maybe_sent=aborted)
    return ProviderError(f"{prefix}: request failed ({type(exc).__name__})", "REQUEST_ERROR", False,
                         maybe_sent=True)
