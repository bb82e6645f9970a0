"""Reads about lines: today's usage and when each can next send."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from lines.models import Line, LineDailyUsage, LineHourlyUsage
from tuco.calendar import local_day, next_local_midnight, utc_hour_start


@dataclass
class LineState:
    line: Line
    day: str
    total: int
    new: int
    availability: int
    first_touch_this_hour: int
    next_any: datetime | None
    next_new: datetime | None


def line_states(*, lines: list[Line], now: datetime) -> list[LineState]:
    days = {line.pk: local_day(now, line.timezone) for line in lines}
    usage = {(u.line_id, u.day): u for u in LineDailyUsage.objects.filter(line__in=lines, day__in=set(days.values()))}
    hour = utc_hour_start(now)
    hourly = dict(LineHourlyUsage.objects.filter(line__in=lines, hour=hour).values_list("line_id", "first_touch_count"))
    states = []
    for line in lines:
        today = usage.get((line.pk, days[line.pk]))
        total, new = (today.total_count, today.new_count) if today else (0, 0)
        availability = today.availability_count if today else 0
        first_touches = hourly.get(line.pk, 0)
        next_any, next_new = _next_slots(line, now, total, new, first_touches)
        states.append(LineState(line, days[line.pk].isoformat(), total, new, availability, first_touches,
                                next_any, next_new))
    return states


def _next_slots(line: Line, now: datetime, total: int, new: int,
                first_touches: int) -> tuple[datetime | None, datetime | None]:
    """(next moment any message can go, next moment a new conversation can start); None = not while unusable."""
    if not line.is_active or not line.is_healthy:
        return None, None
    midnight = next_local_midnight(now, line.timezone)
    any_at = now
    device = line.device
    if device is not None and device.last_send_at:
        any_at = max(any_at, device.last_send_at + timedelta(seconds=device.device_gap_seconds))
    if total >= line.daily_total_limit:
        any_at = max(any_at, midnight)
    new_at = any_at
    if line.last_first_touch_at and line.contact_gap_seconds:
        new_at = max(new_at, line.last_first_touch_at + timedelta(seconds=line.contact_gap_seconds))
    if new >= line.daily_new_limit:
        new_at = max(new_at, midnight)
    if line.channel_type != Line.Channel.EMAIL and first_touches >= line.hourly_first_touch_limit:
        new_at = max(new_at, utc_hour_start(now) + timedelta(hours=1))
    return any_at, new_at
