"""SMS providers for fallback and the SMS channel (see base.py for the interface)."""

from fallback.providers.base import (
    PROVIDER_NAMES,
    REGISTRY,
    ProviderError,
    ProviderResult,
    SendContext,
    SmsProvider,
    provider_for,
)

__all__ = ["PROVIDER_NAMES", "REGISTRY", "ProviderError", "ProviderResult", "SendContext", "SmsProvider",
           "provider_for"]
