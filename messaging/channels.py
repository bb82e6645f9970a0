"""Sends that do not go through a device relay: SMS (Twilio), email (SMTP) and forced fallbacks.

Wired to the providers in the fallback/email integration; until then these
channels fail the message with a clear error rather than pretend to send.
"""

from __future__ import annotations

from messaging.claim import Claimed
from messaging.models import SendAttempt
from messaging.outcomes import RetryPolicy, attempt_finish, fail


def send_on_channel(claimed: Claimed, *, channel: str, policy: RetryPolicy) -> str:
    attempt_finish(claimed.attempt.pk, outcome=SendAttempt.Outcome.NOT_SENT, error_class="not_configured",
                   error=f"channel {channel} is not available")
    fail(claimed.message, error=f"The {channel} channel is not available", code="CHANNEL_UNAVAILABLE")
    return "failed"
