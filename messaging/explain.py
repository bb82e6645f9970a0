"""Why has this message not gone yet, and when will it? One sentence per state.

Two forms of the same sentence: `explanation_for` names the moment in ISO 8601 UTC (the API's
`statusExplanation`, `explain_message`); `explanation_display` says it the way an operator reads it in
the admin and the Unibox: relative and in local time ("this message's turn is in 38 s, 08:02:29 UTC").
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo

from django.utils import timezone

from messaging.models import Message, QueuedReason, Status
from messaging.selectors import thread_order_expected_at
from tuco.timefmt import iso, relative_local

REASON_SENTENCES = {
    QueuedReason.SCHEDULED: "It is scheduled and will be sent at {at}.",
    QueuedReason.TIME_WINDOW:
        "It is outside the send window ({window} {tz}); it will be sent when the window opens at {at}.",
    QueuedReason.DAY_NOT_ALLOWED:
        "Today is not an allowed sending day; it will be sent on the next allowed day at {at}.",
    QueuedReason.LINE_DAILY_TOTAL: "The line reached its daily message limit ({limit}); it resets at {at}.",
    QueuedReason.LINE_DAILY_NEW: "The line reached its daily new-conversation limit ({limit}); it resets at {at}.",
    QueuedReason.LINE_FIRST_TOUCH_HOUR:
        "The line reached its hourly first-touch limit ({limit}); the next hour starts at {at}.",
    QueuedReason.DEVICE_GAP:
        "The device is pacing its sends (minimum gap between sends); this message's turn is at {at}.",
    QueuedReason.CONTACT_GAP:
        "The line is pacing new conversations (gap between first messages); this one's turn is at {at}.",
    QueuedReason.LINE_UNHEALTHY: "The line is unhealthy ({detail}); it is re-checked at {at}.",
    QueuedReason.LINE_INACTIVE: "The line is inactive; the message waits until it is re-activated (next check {at}).",
    QueuedReason.NO_LINE: "No active line can send it right now; next check at {at}.",
    QueuedReason.AVAILABILITY_BUDGET: "Every line spent today's availability-check budget; it resets at {at}.",
    QueuedReason.RETRY_WAIT: "The last send attempt did not go out ({detail}); the next attempt is at {at}.",
    QueuedReason.LINE_BUSY: "Another message on this line is ahead of it; it is re-checked at {at}.",
    QueuedReason.CAMPAIGN_PAUSED: "Its campaign is paused; it is sent when the campaign is resumed.",
    QueuedReason.THREAD_ORDER: "An earlier message to this recipient goes first; it is re-checked at {at}.",
}

STATUS_SENTENCES = {
    Status.PENDING: "It is accepted and waiting for a worker to send it.",
    Status.SENDING: "A worker is sending it now.",
    Status.SENT: "It was accepted by the device/provider; delivery confirmation may follow.",
    Status.DELIVERED: "Delivery was confirmed by the device.",
    Status.FAILED: "It was not sent: {error}",
    Status.FALLBACK: "The recipient cannot receive iMessage ({reason}); fallback: {fallback}.",
    Status.CANCELLED: "It was cancelled and will not be sent.",
    Status.RECEIVED: "An inbound message from the recipient.",
}


class _Safe(dict):
    def __missing__(self, key: str) -> str:
        return "?"


def expected_next_attempt(m: Message):  # -> datetime | None
    """When the message is expected to go: its own next attempt, or for a message waiting behind an
    earlier one to the same recipient, when that one is expected to go."""
    if m.queued_reason == QueuedReason.THREAD_ORDER:
        return thread_order_expected_at(m) or m.next_attempt_at
    return m.next_attempt_at


GENERIC_REASON_SENTENCE = "It is waiting ({reason}); next attempt at {at}."
# The display form says "in 38 s, 08:02:29 UTC" where the API form says "at 2026-…Z".
DISPLAY_REASON_SENTENCES = {reason: text.replace(" at {at}", " {at}") for reason, text in REASON_SENTENCES.items()}
DISPLAY_GENERIC_REASON_SENTENCE = GENERIC_REASON_SENTENCE.replace(" at {at}", " {at}")


def explanation_for(m: Message) -> str:
    """The API's sentence (`statusExplanation`): moments in ISO 8601 UTC."""
    return _explain(m, REASON_SENTENCES, GENERIC_REASON_SENTENCE, lambda at: iso(at) or "the next check")


def explanation_display(m: Message, *, now: datetime | None = None, tz: tzinfo | None = None) -> str:
    """The operator's sentence (admin, Unibox): moments relative to `now` and in `tz` (default: the active
    Django time zone, TIME_ZONE), e.g. "in 38 s, 08:02:29 UTC"; a moment already past is "now (due …)"."""
    now = now or timezone.now()
    tz = tz or timezone.get_current_timezone()

    def moment(at: datetime | None) -> str:
        if at is None:
            return "at the next check"
        if at <= now:
            return f"now (due {relative_local(at, now=now, tz=tz)})"
        return relative_local(at, now=now, tz=tz)

    return _explain(m, DISPLAY_REASON_SENTENCES, DISPLAY_GENERIC_REASON_SENTENCE, moment)


def _explain(m: Message, sentences: dict[str, str], generic: str, moment: Callable[[datetime | None], str]) -> str:
    if m.status in (Status.QUEUED, Status.SCHEDULED, Status.PENDING) and m.queued_reason:
        template = sentences.get(m.queued_reason, generic)
        detail = m.error or ""
        return template.format_map(_Safe(
            at=moment(expected_next_attempt(m)),
            window=f"{m.send_window_start}-{m.send_window_end}",
            tz=m.timezone or "UTC",
            limit=_limit_for(m),
            detail=detail or "no detail",
            reason=m.queued_reason,
        ))
    template = STATUS_SENTENCES.get(m.status, "")
    return template.format_map(_Safe(
        error=m.error or "unknown error",
        reason=m.fallback_reason or "not on iMessage",
        fallback=m.fallback_sms_status or "none configured",
    ))


def _limit_for(m: Message) -> str:
    line = m.line if m.line_id and "line" in m._state.fields_cache else None
    if line is None:
        return "see GET /api/lines/by-user"
    return {
        QueuedReason.LINE_DAILY_TOTAL: str(line.daily_total_limit),
        QueuedReason.LINE_DAILY_NEW: str(line.daily_new_limit),
        QueuedReason.LINE_FIRST_TOUCH_HOUR: str(line.hourly_first_touch_limit),
    }.get(m.queued_reason, "")
