"""Send-window math: wrapping windows, allowed days, DST changes (America/New_York, 2026)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tuco.calendar import blocking_reason, is_open, next_local_midnight, next_open, window_from


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


NY_9_TO_5 = window_from(timezone="America/New_York", start="09:00", end="17:00")


@pytest.mark.parametrize("now,open_", [
    ("2026-07-15T12:59:00", False),  # 08:59 EDT
    ("2026-07-15T13:00:00", True),  # 09:00 EDT
    ("2026-07-15T20:59:59", True),  # 16:59 EDT
    ("2026-07-15T21:00:00", False),  # 17:00 EDT (end is exclusive)
    ("2026-01-15T13:59:00", False),  # 08:59 EST
    ("2026-01-15T14:00:00", True),  # 09:00 EST
])
def test_window_follows_the_local_offset(now, open_) -> None:
    assert is_open(NY_9_TO_5, utc(now)) is open_


def test_next_open_across_spring_forward() -> None:
    # Saturday 2026-03-07 23:00 EST; clocks go 02:00 → 03:00 on Sunday 03-08.
    assert next_open(NY_9_TO_5, utc("2026-03-08T04:00:00")) == utc("2026-03-08T13:00:00")  # 09:00 EDT, not 14:00


def test_next_open_across_fall_back() -> None:
    # Saturday 2026-10-31 22:00 EDT; clocks go 02:00 → 01:00 on Sunday 11-01.
    assert next_open(NY_9_TO_5, utc("2026-11-01T02:00:00")) == utc("2026-11-01T14:00:00")  # 09:00 EST


def test_a_window_opening_inside_the_dst_gap_opens_at_the_first_real_instant() -> None:
    window = window_from(timezone="America/New_York", start="02:30", end="05:00")
    assert next_open(window, utc("2026-03-08T05:00:00")) == utc("2026-03-08T07:30:00")  # 03:30 EDT


def test_window_wrapping_midnight() -> None:
    night = window_from(timezone="UTC", start="22:00", end="06:00")
    assert is_open(night, utc("2026-07-15T23:30:00")) and is_open(night, utc("2026-07-16T05:59:00"))
    assert not is_open(night, utc("2026-07-16T06:00:00"))
    assert next_open(night, utc("2026-07-16T06:00:00")) == utc("2026-07-16T22:00:00")


def test_wrapping_window_tail_belongs_to_the_day_it_opened() -> None:
    friday_night = window_from(timezone="UTC", start="22:00", end="06:00", days=[5])  # Friday only
    assert is_open(friday_night, utc("2026-07-18T01:00:00"))  # Saturday 01:00, opened Friday
    assert not is_open(friday_night, utc("2026-07-18T23:00:00"))  # Saturday night
    assert next_open(friday_night, utc("2026-07-18T07:00:00")) == utc("2026-07-24T22:00:00")  # next Friday
    assert blocking_reason(friday_night, utc("2026-07-18T23:00:00")) == "day_not_allowed"
    assert blocking_reason(friday_night, utc("2026-07-17T12:00:00")) == "time_window"  # Friday noon


def test_weekdays_only_waits_for_monday_at_the_window_start() -> None:
    weekdays = window_from(timezone="America/New_York", start="09:00", end="17:00", days=[1, 2, 3, 4, 5])
    saturday_noon = utc("2026-07-18T16:00:00")
    assert blocking_reason(weekdays, saturday_noon) == "day_not_allowed"
    assert next_open(weekdays, saturday_noon) == utc("2026-07-20T13:00:00")  # Monday 09:00 EDT


def test_days_without_hours_open_at_local_midnight() -> None:
    sundays = window_from(timezone="Asia/Tokyo", days=[0])
    assert next_open(sundays, utc("2026-07-15T00:00:00")) == utc("2026-07-18T15:00:00")  # Sunday 00:00 JST


def test_next_local_midnight_is_dst_aware() -> None:
    assert next_local_midnight(utc("2026-03-08T12:00:00"), "America/New_York") == utc("2026-03-09T04:00:00")
    assert next_local_midnight(utc("2026-11-01T12:00:00"), "America/New_York") == utc("2026-11-02T05:00:00")
