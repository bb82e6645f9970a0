"""The words the send layers speak to each other (docs/architecture.md, "The send path").

- `Block`: a gate said "not now": why (a `QueuedReason`) and the earliest moment it can pass.
- `Outcome`: what one send, verification or fallback SMS did. Channels return it and never act on it;
  `messaging.send.outcomes` turns it into state.
- `RetryPolicy`: how many attempts, how long to verify, the gap between attempts.

Errors are the one `tuco.send_errors.SendError` (permanent / maybe sent / the line's fault).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from django.conf import settings

from tuco.send_errors import SendError


@dataclass
class Block:
    reason: str  # a QueuedReason
    next_at: datetime
    detail: str = ""
    line_id: str | None = None


class Result(StrEnum):
    SENT = "sent"  # the provider took it (external_id)
    FAILED = "failed"  # permanent: the error says why
    TRANSIENT = "transient"  # not sent this time; may be retried (error.maybe_sent: it may have gone out)
    LINE_FAULT = "line_fault"  # the line cannot send; nothing went out
    WAIT = "wait"  # not sent, not the message's fault: wait for `block` without spending an attempt
    UNAVAILABLE = "unavailable"  # the recipient has no iMessage on any address
    PENDING = "pending"  # a verification could not conclude yet
    PART_CONFIRMED = "part_confirmed"  # a verification found the pending part; other parts remain to send
    FALLBACK = "fallback"  # a forced fallback took the message
    GONE = "gone"  # someone else owns the message (or it no longer exists)


@dataclass(frozen=True)
class Outcome:
    result: Result
    error: SendError | None = None
    external_id: str = ""
    to_address: str = ""
    via: str = ""  # how a send became known: relay_accepted, verified_on_device, twilio_accepted…
    block: Block | None = None
    attempts: int = 0  # provider calls made
    provider: str = ""
    claimed: bool = True  # exactly-once sends (fallback SMS): False when another call owns it
    status: str = ""  # fallback SMS: the row's fallback_sms_status after this call
    message_fields: dict[str, Any] = field(default_factory=dict)  # written with the status change
    attempt_fields: dict[str, Any] = field(default_factory=dict)  # written to the attempt with it
    attempt_id: int | None = None
    checked_addresses: list[str] = field(default_factory=list)
    from_cache: bool | None = None

    @property
    def sent(self) -> bool:
        return self.result == Result.SENT

    @property
    def permanent(self) -> bool:
        return self.result == Result.FAILED

    @property
    def maybe_sent(self) -> bool:
        return bool(self.error and self.error.maybe_sent)

    @property
    def error_code(self) -> str:
        return self.error.code if self.error else ""

    @property
    def error_text(self) -> str:
        return self.error.message if self.error else ""


def gone() -> Outcome:
    return Outcome(Result.GONE)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int
    verify_seconds: float
    gap_seconds: float
    poll_seconds: float
    # One attempt per line, over the message's line choices (campaigns: spec "1 per line; step 0 tries
    # other lines"); `attempts` does not apply.
    per_line: bool = False


def individual_policy() -> RetryPolicy:
    return RetryPolicy(attempts=settings.UNIBOX_REPLY_RETRY_ATTEMPTS,
                       verify_seconds=settings.UNIBOX_REPLY_RETRY_VERIFY_SECONDS,
                       gap_seconds=settings.UNIBOX_REPLY_RETRY_GAP_SECONDS,
                       poll_seconds=settings.TUCO_VERIFY_POLL_SECONDS)


def campaign_policy() -> RetryPolicy:
    return RetryPolicy(attempts=1, verify_seconds=settings.UNIBOX_REPLY_RETRY_VERIFY_SECONDS, gap_seconds=0,
                       poll_seconds=settings.TUCO_VERIFY_POLL_SECONDS, per_line=True)


def policy_for(message: Any) -> RetryPolicy:
    """A campaign message (it carries its line choices) retries per line; any other one individually."""
    return campaign_policy() if message.line_choices else individual_policy()


def inline_policy() -> RetryPolicy:
    """A send run in the web process while the broker is down (SYNC_FALLBACK_* settings)."""
    return RetryPolicy(attempts=settings.SYNC_FALLBACK_RETRY_ATTEMPTS,
                       verify_seconds=settings.UNIBOX_REPLY_RETRY_VERIFY_SECONDS,
                       gap_seconds=settings.SYNC_FALLBACK_RETRY_GAP_SECONDS,
                       poll_seconds=settings.TUCO_VERIFY_POLL_SECONDS)
