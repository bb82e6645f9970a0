"""SendAttempt rows: one per try at handing a message to a relay or provider (the only writer of them).

A row is written before the call (`in_flight`) and finished after it, never inside a transaction
that spans the call, so a worker killed mid-call leaves evidence of a request whose outcome is
unknown. The claim opens the row of relay and SMTP sends in its own transaction; provider calls
(SMS, fallback SMS) open one row per call through `AttemptRecorder`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import Max
from django.utils import timezone

from fallback.providers.base import ProviderResult
from messaging.models import SendAttempt
from tuco.send_errors import SendError

Outcome = SendAttempt.Outcome


def temp_guid_for(message_id: str, attempt_number: int) -> str:
    # Unique per attempt: BlueBubbles refuses a tempGuid still in flight, and a reused one would
    # be a second message once the first call finished.
    return f"tuco-{message_id}-{attempt_number}"


def next_attempt_number(message_id: str, channels: Iterable[str]) -> int:
    """1 + the highest number among this message's attempts on `channels` (numbers count per kind of send)."""
    top = SendAttempt.objects.filter(message_id=message_id, channel__in=list(channels)).aggregate(
        top=Max("number"))["top"]
    return (top or 0) + 1


def attempt_open(*, message_id: str, channel: str, line_id: str | None, to_address: str,
                 started_at: datetime) -> SendAttempt:
    """The attempt a claim records (relay, smtp): numbered by try, not by the retry budget (a line's
    fault gives its attempt back but keeps its row)."""
    number = next_attempt_number(message_id, [channel])
    return SendAttempt.objects.create(
        message_id=message_id, number=number, channel=channel, line_id=line_id, started_at=started_at,
        temp_guid=temp_guid_for(message_id, number) if channel == "relay" else "", to_address=to_address,
    )


def attempt_finish(attempt_id: int, *, outcome: str, started: datetime | None = None, response_code: int | None = None,
                   error_class: str = "", error: str = "", external_id: str = "", **extra: Any) -> None:
    now = timezone.now()
    fields: dict[str, Any] = {"outcome": outcome, "finished_at": now, "error_class": error_class,
                              "error": error[:2000], **extra}
    if started is not None:
        fields["duration_ms"] = int((now - started).total_seconds() * 1000)
    if response_code is not None:
        fields["response_code"] = response_code
    if external_id:
        fields["external_id"] = external_id
    SendAttempt.objects.filter(pk=attempt_id).update(**fields)


def attempt_mark_sent(attempt_id: int, *, guid: str, at: datetime, **fields: Any) -> None:
    """Inside the caller's transaction (messaging.send.state.mark_sent): the attempt sent this guid."""
    SendAttempt.objects.filter(pk=attempt_id).exclude(outcome=Outcome.SENT).update(
        outcome=Outcome.SENT, external_id=guid, finished_at=at, **fields)


def attempt_record_request(attempt_id: int, *, summary: dict[str, Any], to_address: str,
                           cache_hit: bool | None) -> None:
    """What is about to be sent (the part in flight, the address): verification reads it back."""
    SendAttempt.objects.filter(pk=attempt_id).update(request_summary=summary, to_address=to_address,
                                                     cache_hit=cache_hit)


def attempt_set_address(attempt_id: int, address: str) -> None:
    SendAttempt.objects.filter(pk=attempt_id).update(to_address=address)


def attempt_verify_until(attempt_id: int, until: datetime) -> None:
    SendAttempt.objects.filter(pk=attempt_id).update(verify_until=until)


def attempt_learn_guid(attempt_id: int, guid: str) -> None:
    """A relay event named the device's guid for our tempGuid."""
    SendAttempt.objects.filter(pk=attempt_id, external_id="").update(external_id=guid)


def attempts_mark_device_error(*, message_id: str, guid: str, code: object) -> None:
    """The device marked the row it had accepted as failed: the attempt that sent it did not send."""
    SendAttempt.objects.filter(message_id=message_id, external_id=guid).update(
        outcome=Outcome.NOT_SENT, error_class="device_error", error=f"device error {code}")


def attempts_mark_bounced(*, message_id: str, address: str, status: str) -> None:
    """A hard bounce came back for the email sent to `address`: that attempt did not deliver."""
    SendAttempt.objects.filter(message_id=message_id, to_address__iexact=address, outcome=Outcome.SENT).update(
        outcome=Outcome.NOT_SENT, error_class="bounced", error=f"hard bounce {status}"[:2000])


class AttemptRecorder:
    """Open one SendAttempt row for a provider call, then close it with a result or an error."""

    def __init__(self, *, message_id: str, channel: str, number: int, to: str, summary: dict[str, Any]) -> None:
        self._started = time.monotonic()
        self.row = SendAttempt.objects.create(message_id=message_id, number=number, channel=channel,
                                              to_address=to, started_at=timezone.now(), request_summary=summary)

    def _elapsed_ms(self) -> int:
        return int((time.monotonic() - self._started) * 1000)

    def succeeded(self, result: ProviderResult) -> None:
        SendAttempt.objects.filter(pk=self.row.pk).update(
            finished_at=timezone.now(), duration_ms=self._elapsed_ms(), response_code=result.response_code,
            outcome=Outcome.SENT, external_id=result.external_id[:100])

    def failed(self, error: SendError) -> None:
        outcome = Outcome.UNKNOWN if error.maybe_sent else Outcome.NOT_SENT
        SendAttempt.objects.filter(pk=self.row.pk).update(
            finished_at=timezone.now(), duration_ms=self._elapsed_ms(), response_code=error.response_code,
            outcome=outcome, error_class=error.error_class, error=f"{error.code}: {error.message}"[:2000])
