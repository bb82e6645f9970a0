"""Send windows and calendar math in a recipient's or line's time zone (DST-correct).

A window "HH:mm–HH:mm" may wrap midnight (22:00–06:00); the part after midnight
belongs to the day the window opened, so allowedDaysOfWeek=[5] (Friday) with
22:00–06:00 allows Saturday 01:00. Days are 0 = Sunday … 6 = Saturday. Equal
start and end mean the whole day.

All functions take and return aware UTC datetimes; wall times are localized
with zoneinfo, so a window opening at 02:30 on a spring-forward day opens at
the first real instant after the gap, and the first 01:30 of a fall-back day
is the one used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tuco.queue_reasons import QueuedReason


@dataclass(frozen=True)
class Window:
    tz: ZoneInfo
    start: time | None = None
    end: time | None = None
    days: frozenset[int] | None = None

    @property
    def has_hours(self) -> bool:
        return self.start is not None and self.end is not None

    @property
    def wraps(self) -> bool:
        return self.has_hours and self.end < self.start  # type: ignore[operator]


def parse_hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def window_from(*, timezone: str, start: str = "", end: str = "", days: list[int] | None = None) -> Window | None:
    if not (start and end) and days is None:
        return None
    return Window(tz=ZoneInfo(timezone or "UTC"), start=parse_hhmm(start) if start else None,
                  end=parse_hhmm(end) if end else None, days=frozenset(days) if days is not None else None)


def sunday_zero(d: date) -> int:
    return (d.weekday() + 1) % 7  # Python: Monday = 0


def localize(d: date, t: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of wall time `t` on `d` in `tz` (normalized through UTC, so DST gaps resolve forward)."""
    return datetime.combine(d, t, tzinfo=tz).astimezone(UTC)


def _day_allowed(window: Window, d: date) -> bool:
    return window.days is None or sunday_zero(d) in window.days


def is_open(window: Window, now: datetime) -> bool:
    local = now.astimezone(window.tz)
    today, t = local.date(), local.time().replace(tzinfo=None)
    if not window.has_hours or window.start == window.end:
        return _day_allowed(window, today)
    if not window.wraps:
        return _day_allowed(window, today) and window.start <= t < window.end  # type: ignore[operator]
    if t >= window.start:  # type: ignore[operator]
        return _day_allowed(window, today)
    if t < window.end:  # type: ignore[operator]
        return _day_allowed(window, today - timedelta(days=1))
    return False


def next_open(window: Window, now: datetime) -> datetime:
    """The earliest instant ≥ now at which the window is open."""
    if is_open(window, now):
        return now
    local_today = now.astimezone(window.tz).date()
    opening = window.start if window.has_hours and window.start != window.end else time(0, 0)
    for offset in range(0, 9):
        d = local_today + timedelta(days=offset)
        if not _day_allowed(window, d):
            continue
        candidate = localize(d, opening, window.tz)
        if candidate > now:
            return candidate
    raise ValueError("window never opens (no allowed days)")


def blocking_reason(window: Window, now: datetime) -> str:
    """Why the window is shut now: the day itself is not allowed, or only the hours are wrong."""
    local = now.astimezone(window.tz)
    today_allowed = window.days is None or _day_allowed(window, local.date())
    # The after-midnight tail of a window that opened on an allowed yesterday is a question of hours.
    in_tail_of_yesterday = (window.wraps and local.time().replace(tzinfo=None) < window.end  # type: ignore[operator]
                            and _day_allowed(window, local.date() - timedelta(days=1)))
    return QueuedReason.TIME_WINDOW if today_allowed or in_tail_of_yesterday else QueuedReason.DAY_NOT_ALLOWED


def next_local_midnight(now: datetime, timezone: str) -> datetime:
    tz = ZoneInfo(timezone or "UTC")
    return localize(now.astimezone(tz).date() + timedelta(days=1), time(0, 0), tz)


def local_day(now: datetime, timezone: str) -> date:
    return now.astimezone(ZoneInfo(timezone or "UTC")).date()


def utc_hour_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
