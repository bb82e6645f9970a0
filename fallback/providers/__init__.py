"""SMS providers for fallback and the SMS channel (see base.py for the interface)."""

from fallback.providers.base import (
    PROVIDER_NAMES,
    REGISTRY,
    ProviderResult,
    SendContext,
    SmsProvider,
    provider_for,
)

__all__ = ["PROVIDER_NAMES", "REGISTRY", "ProviderResult", "SendContext", "SmsProvider",
           "provider_for"]
