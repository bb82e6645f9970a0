"""Retry and pause policy of outgoing webhooks, in one place.

Backoff: the first retry waits TUCO_WEBHOOK_RETRY_BASE_SECONDS (30 s), each
next one twice as long, capped at 6 h, until the waits add up to at least 24 h.
With the defaults that is 14 tries over about 26.5 h:
30 s, 1, 2, 4, 8, 16, 32 min, 1.1, 2.1, 4.3, 6, 6, 6 h. Then the event is `dead`.

Waits up to MAX_COUNTDOWN_SECONDS ride on a Celery countdown; longer ones are
stored in `next_attempt_at` and picked up by the beat sweep, so no countdown
comes near the Redis visibility timeout (pretix `send_webhook`).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

RETRY_WINDOW_SECONDS = 24 * 3600
MAX_DELAY_SECONDS = 6 * 3600
MAX_COUNTDOWN_SECONDS = 300
# After this many consecutive failed tries an endpoint is paused (TUCO_WEBHOOK_PAUSE_AFTER_FAILURES).
DEFAULT_PAUSE_AFTER_FAILURES = 20
# Timeout of one delivery or health-check request (connect and read), seconds.
REQUEST_TIMEOUT_SECONDS = 10.0
# A row `delivering` this long belongs to a worker that died: the sweep gives it back.
STUCK_AFTER = timedelta(minutes=5)
# A task handed to the broker this long ago without running is handed over again.
REENQUEUE_AFTER = timedelta(minutes=5)


def retry_delays(base_seconds: float | None = None) -> list[float]:
    """The waits between tries, in seconds: exponential from the base, covering >= 24 h in total."""
    base = settings.TUCO_WEBHOOK_RETRY_BASE_SECONDS if base_seconds is None else base_seconds
    base = max(float(base), 1.0)  # a zero base would never reach the window
    delays: list[float] = []
    total = 0.0
    while total < RETRY_WINDOW_SECONDS:
        delay = min(base * 2 ** len(delays), MAX_DELAY_SECONDS)
        delays.append(delay)
        total += delay
    return delays


def max_attempts() -> int:
    return len(retry_delays()) + 1


def retry_delay(failed_tries: int) -> float | None:
    """Seconds to wait after the `failed_tries`-th failed try of a round; None when it was the last."""
    delays = retry_delays()
    if failed_tries < 1 or failed_tries > len(delays):
        return None
    return delays[failed_tries - 1]


def pause_after_failures() -> int:
    return int(getattr(settings, "TUCO_WEBHOOK_PAUSE_AFTER_FAILURES", DEFAULT_PAUSE_AFTER_FAILURES))
