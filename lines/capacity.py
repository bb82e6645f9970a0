"""Atomic reservation of a line's capacity for one send (and its release if the send does not happen).

`capacity_reserve` must run inside the caller's transaction. Every limit is a
guarded UPDATE (`… WHERE count < limit`, `… WHERE last_send_at <= now - gap`):
two workers racing for the last slot serialize on the row and exactly one
matches. The first failing guard raises `CapacityDenied` with the computed
moment the gate can pass; the caller's rollback undoes the guards that did pass.

What one send holds: the daily total (and daily new-conversation count when the
recipient is new to this line), the hourly first-touch count (not for email
lines), the line's contact gap (new conversations only) and the device gap.

The gaps are reserved at the claim, but what a device (and Apple) sees is the moment of the relay
call, and the time from claim to call varies (an attachment fetch, a busy worker): two claims a gap
apart can reach the device milliseconds apart. So the gaps are taken a second time, at the call
(`relay_call_slot`, stamped in `relay_called_at` / `first_touch_called_at`, and stamped again when the
relay answers, `relay_call_returned`): the claim decides the queue, the call stamps guarantee the
spacing on the device — the next send starts a gap after the previous one's answer at the earliest.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.db.models import DateTimeField, F, Q, Value
from django.db.models.functions import Greatest

from lines.models import Device, Line, LineContact, LineDailyUsage, LineHourlyUsage
from tuco.calendar import local_day, next_local_midnight, utc_hour_start
from tuco.logging import get_logger
from tuco.queue_reasons import QueuedReason

log = get_logger(__name__)


class CapacityDenied(Exception):
    def __init__(self, reason: str, next_at: datetime, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.next_at = next_at
        self.detail = detail


@dataclass
class Reservation:
    line_id: str
    day: str
    hour: str
    new: bool
    contact_keys: list[str]

    def as_json(self) -> dict[str, object]:
        return asdict(self)


def contact_keys(address: str, lead_id: str | None) -> list[str]:
    """A recipient is known to a line by address and by lead (either makes a follow-up)."""
    keys = [address]
    if lead_id:
        keys.append(f"lead:{lead_id}")
    return keys


def is_new_conversation(*, line_id: str, address: str, lead_id: str | None) -> bool:
    return not LineContact.objects.filter(line_id=line_id, address__in=contact_keys(address, lead_id)).exists()


_CONTACTS = LineContact._meta.db_table
_DAILY = LineDailyUsage._meta.db_table
_HOURLY = LineHourlyUsage._meta.db_table


def _deny(reason: str, next_at: datetime, detail: str, **context: object) -> CapacityDenied:
    log.info("cap.reservation.denied", reason=reason, nextAttemptAt=next_at.isoformat(), **context)
    return CapacityDenied(reason, next_at, detail)


def _claim_contact_keys(line_id: str, keys: list[str], message_id: str, now: datetime) -> list[str]:
    """Insert the recipient's keys for this line; the ones returned are the ones this send made new."""
    values = ", ".join(["(%s, %s, %s, %s)"] * len(keys))
    params: list[object] = []
    for key in keys:
        params += [line_id, key, message_id, now]
    with connection.cursor() as cursor:
        cursor.execute(f'INSERT INTO "{_CONTACTS}" (line_id, address, first_message_id, created_at) '
                       f"VALUES {values} ON CONFLICT DO NOTHING RETURNING address", params)
        return [row[0] for row in cursor.fetchall()]


def _count_up(sql_table: str, key_columns: dict[str, object], increments: dict[str, int],
              limits: dict[str, int]) -> bool:
    """Create-or-increment a usage row in one statement, refusing when any limit is reached."""
    columns = [*key_columns, *increments]
    placeholders = ", ".join(["%s"] * len(columns))
    sets = ", ".join(f'{c} = "{sql_table}".{c} + EXCLUDED.{c}' for c in increments)
    guard = " AND ".join(f'"{sql_table}".{c} < %s' for c in limits)
    # A fresh row starts at the increments: only valid when they fit the limits (checked by the caller).
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{sql_table}" ({", ".join(columns)}) VALUES ({placeholders}) '
            f'ON CONFLICT ({", ".join(key_columns)}) DO UPDATE SET {sets} WHERE {guard} RETURNING 1',
            [*key_columns.values(), *increments.values(), *limits.values()],
        )
        return cursor.fetchone() is not None


def _take_gap(model: type[Line] | type[Device], pk: str, column: str, seconds: int, now: datetime) -> datetime | None:
    """Stamp `column` with now if `seconds` have passed since its last stamp (one guarded UPDATE: of two
    racing callers exactly one matches): None; else the moment the gap passes."""
    gap = timedelta(seconds=seconds)
    free = Q(**{f"{column}__isnull": True}) | Q(**{f"{column}__lte": now - gap})
    if model.objects.filter(free, pk=pk).update(**{column: now}):
        return None
    return model.objects.values_list(column, flat=True).get(pk=pk) + gap


def capacity_reserve(*, line: Line, device: Device | None, address: str, lead_id: str | None, message_id: str,
                     now: datetime) -> Reservation:
    context = {"lineId": line.pk, "messageId": message_id}
    log.info("cap.reservation.entered", **context)
    day: date = local_day(now, line.timezone)
    hour = utc_hour_start(now)

    # New to this line? Claiming the contact keys decides it: a concurrent send to the same recipient
    # serializes on the unique index, and only one of them makes the first touch.
    keys = contact_keys(address, lead_id)
    inserted = _claim_contact_keys(line.pk, keys, message_id, now)
    new = len(inserted) == len(keys)

    limits = {"total_count": line.daily_total_limit}
    if new:
        limits["new_count"] = line.daily_new_limit
    if min(limits.values()) < 1 or not _count_up(_DAILY, {"line_id": line.pk, "day": day},
                                                 {"total_count": 1, "new_count": int(new),
                                                  "availability_count": 0}, limits):
        usage = LineDailyUsage.objects.filter(line_id=line.pk, day=day).first()
        total, new_count = (usage.total_count, usage.new_count) if usage else (0, 0)
        midnight = next_local_midnight(now, line.timezone)
        if total >= line.daily_total_limit:
            raise _deny(QueuedReason.LINE_DAILY_TOTAL, midnight, f"{total}/{line.daily_total_limit} today", **context)
        raise _deny(QueuedReason.LINE_DAILY_NEW, midnight, f"{new_count}/{line.daily_new_limit} new today", **context)

    hourly_capped = new and line.channel_type != Line.Channel.EMAIL  # email lines are exempt
    if hourly_capped and (line.hourly_first_touch_limit < 1 or not _count_up(
            _HOURLY, {"line_id": line.pk, "hour": hour}, {"first_touch_count": 1},
            {"first_touch_count": line.hourly_first_touch_limit})):
        raise _deny(QueuedReason.LINE_FIRST_TOUCH_HOUR, hour + timedelta(hours=1),
                    f"{line.hourly_first_touch_limit} first touches this hour", **context)

    if new and line.contact_gap_seconds:
        passes_at = _take_gap(Line, line.pk, "last_first_touch_at", line.contact_gap_seconds, now)
        if passes_at is not None:
            raise _deny(QueuedReason.CONTACT_GAP, passes_at, f"{line.contact_gap_seconds}s between new contacts",
                        **context)
    elif new:
        Line.objects.filter(pk=line.pk).update(last_first_touch_at=now)

    if device is not None:
        passes_at = _take_gap(Device, device.pk, "last_send_at", device.device_gap_seconds, now)
        if passes_at is not None:
            raise _deny(QueuedReason.DEVICE_GAP, passes_at,
                        f"{device.device_gap_seconds}s between sends on this device", deviceId=device.pk, **context)

    log.info("cap.reservation.granted", newConversation=new, **context)
    return Reservation(line_id=line.pk, day=day.isoformat(), hour=hour.isoformat(), new=new, contact_keys=inserted)


def relay_call_slot(*, line: Line, device: Device, new: bool, now: datetime) -> tuple[str, datetime] | None:
    """Take the call-time gaps for a send about to reach the relay: None when taken (stamped now), else
    (the QueuedReason of the gap that holds, the moment it passes). Both stamps or neither."""
    holds: list[tuple[str, datetime]] = []
    with transaction.atomic():
        if new and line.contact_gap_seconds:
            passes_at = _take_gap(Line, line.pk, "first_touch_called_at", line.contact_gap_seconds, now)
            if passes_at is not None:
                holds.append((QueuedReason.CONTACT_GAP, passes_at))
        if device.device_gap_seconds:
            passes_at = _take_gap(Device, device.pk, "relay_called_at", device.device_gap_seconds, now)
            if passes_at is not None:
                holds.append((QueuedReason.DEVICE_GAP, passes_at))
        if holds:
            transaction.set_rollback(True)  # a stamp taken beside a gap that holds would block the retry
    return max(holds, key=lambda hold: hold[1]) if holds else None


def relay_call_returned(*, line: Line, device: Device, new: bool, at: datetime) -> None:
    """The relay answered (or failed) at `at`: the gaps count from here, since the device records the send
    somewhere between the call and its answer. Never moves a stamp back."""
    moment = Value(at, output_field=DateTimeField())
    if new and line.contact_gap_seconds:
        Line.objects.filter(pk=line.pk).update(first_touch_called_at=Greatest(F("first_touch_called_at"), moment))
    if device.device_gap_seconds:
        Device.objects.filter(pk=device.pk).update(relay_called_at=Greatest(F("relay_called_at"), moment))


def capacity_release(*, reservation: dict[str, object], message_id: str) -> None:
    """Give back what a send that did not happen was holding (counters and first-touch claim).

    Gaps are not rewound: they only delay the next send, and rewinding could
    let two sends through inside one gap.
    """
    line_id = str(reservation["line_id"])
    new = bool(reservation.get("new"))
    LineDailyUsage.objects.filter(line_id=line_id, day=reservation["day"]).update(
        total_count=Greatest(F("total_count") - 1, 0),
        new_count=Greatest(F("new_count") - (1 if new else 0), 0),
    )
    if new:
        LineHourlyUsage.objects.filter(line_id=line_id, hour=reservation["hour"]).update(
            first_touch_count=Greatest(F("first_touch_count") - 1, 0))
    keys = list(reservation.get("contact_keys") or [])
    if keys:
        LineContact.objects.filter(line_id=line_id, address__in=keys, first_message_id=message_id).delete()
    log.info("cap.reservation.released", lineId=line_id, messageId=message_id)
