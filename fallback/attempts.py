"""SendAttempt rows for provider calls (fallback SMS, SMS channel): one row per try.

The row is inserted `in_flight` before the call and completed after it, so a
worker killed mid-call leaves visible evidence of a request whose outcome is
unknown. Neither write happens inside a transaction that spans the call.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from django.db.models import Max
from django.utils import timezone

from fallback.providers.base import ProviderError, ProviderResult
from messaging.models import SendAttempt


def next_attempt_number(message_id: str, channels: Iterable[str]) -> int:
    """1 + the highest number among this message's attempts on `channels` (numbers count per kind of send)."""
    top = SendAttempt.objects.filter(message_id=message_id, channel__in=list(channels)).aggregate(
        top=Max("number"))["top"]
    return (top or 0) + 1


class AttemptRecorder:
    """Open one SendAttempt row, then close it with a result or an error."""

    def __init__(self, *, message_id: str, channel: str, number: int, to: str, summary: dict[str, Any]) -> None:
        self._started = time.monotonic()
        self.row = SendAttempt.objects.create(message_id=message_id, number=number, channel=channel,
                                              to_address=to, started_at=timezone.now(), request_summary=summary)

    def _elapsed_ms(self) -> int:
        return int((time.monotonic() - self._started) * 1000)

    def succeeded(self, result: ProviderResult) -> None:
        SendAttempt.objects.filter(pk=self.row.pk).update(
            finished_at=timezone.now(), duration_ms=self._elapsed_ms(), response_code=result.response_code,
            outcome=SendAttempt.Outcome.SENT, external_id=result.external_id[:100])

    def failed(self, error: ProviderError) -> None:
        outcome = SendAttempt.Outcome.UNKNOWN if error.maybe_sent else SendAttempt.Outcome.NOT_SENT
        SendAttempt.objects.filter(pk=self.row.pk).update(
            finished_at=timezone.now(), duration_ms=self._elapsed_ms(), response_code=error.response_code,
            outcome=outcome, error_class=error.error_class, error=f"{error.code}: {error.message}"[:2000])
