"""Timestamps on the wire: ISO 8601 UTC with milliseconds, e.g. 2026-03-12T22:57:00.856Z; and for operators
(admin, Unibox): relative and local, e.g. "in 38 s, 08:02:29 UTC"."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def parse_iso(value: str) -> datetime | None:
    """Parse an ISO 8601 timestamp; naive values are UTC. None when unparseable."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def duration_text(seconds: float) -> str:
    """A short human span: 38 s, 4 min 12 s, 2 h 5 min, 3 d 4 h (two units at most, rounded to the second)."""
    total = max(0, round(seconds))
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    units = [(days, "d"), (hours, "h"), (minutes, "min"), (secs, "s")]
    while len(units) > 1 and units[0][0] == 0:
        units.pop(0)
    shown = [f"{value} {unit}" for value, unit in units[:2] if value] or [f"0 {units[-1][1]}"]
    return " ".join(shown)


def local_clock(value: datetime, *, now: datetime, tz: tzinfo) -> str:
    """08:02:29 UTC today, Dec 9 08:02:29 UTC on another day (in `tz`)."""
    local, today = value.astimezone(tz), now.astimezone(tz)
    clock = local.strftime("%H:%M:%S %Z")
    if local.date() == today.date():
        return clock
    return f"{local.strftime('%b')} {local.day} {clock}" + (f" {local.year}" if local.year != today.year else "")


def relative_local(value: datetime, *, now: datetime, tz: tzinfo) -> str:
    """For operators: "in 38 s, 08:02:29 UTC", or "38 s ago, 08:02:29 UTC" for a moment that passed."""
    seconds = (value - now).total_seconds()
    clock = local_clock(value, now=now, tz=tz)
    if seconds >= 0:
        return f"in {duration_text(seconds)}, {clock}"
    return f"{duration_text(-seconds)} ago, {clock}"
