"""Seeded activity for the reporting dashboard tests, and the numbers the database holds for it, counted
independently of messaging.reporting (ORM reads, time zones converted in Python)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from leads.models import DncEntry
from lines.models import Line, LineDailyUsage
from messaging.models import Message, MessageEvent
from tests.factories import LineFactory, MessageFactory, WorkspaceFactory
from tuco.models import Workspace

FIRST, LAST = date(2026, 11, 2), date(2026, 11, 4)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass
class ReportWorld:
    a: Workspace
    b: Workspace
    ny: Line  # America/New_York (UTC-5 in these days)
    utc: Line
    other: Line  # workspace B's


def _message(workspace: Workspace, line: Line | None, **fields: Any) -> Message:
    return MessageFactory(workspace=workspace, line=line, **fields)


def _event(message: Message, when: str, to_status: str = "", reason: str = "") -> None:
    MessageEvent.objects.create(message=message, at=at(when), to_status=to_status, reason=reason or to_status)


def seed_report_world() -> ReportWorld:
    a, b = WorkspaceFactory(name="Sunrise Tours"), WorkspaceFactory(name="Other Co")
    ny = LineFactory(workspace=a, phone="+14155550101", first_name="Sam", timezone="America/New_York",
                     availability_daily_cap=70)
    utc = LineFactory(workspace=a, phone="+14155550102", first_name="Uma", timezone="UTC")
    other = LineFactory(workspace=b, phone="+14155550199", timezone="UTC")

    m1 = _message(a, ny, status="delivered")
    _event(m1, "2026-11-03T02:00:00", "sent")  # New York: Nov 2, 21:00
    _event(m1, "2026-11-03T06:00:00", "delivered")  # New York: Nov 3
    _event(m1, "2026-11-03T14:00:00", reason="read")
    _event(_message(a, ny, status="sent"), "2026-11-03T15:00:00", "sent")
    _event(_message(a, ny, status="failed"), "2026-11-04T12:00:00", "failed")
    _event(_message(a, ny, status="fallback"), "2026-11-03T16:00:00", "fallback")
    _event(_message(a, utc, status="sent"), "2026-11-03T02:00:00", "sent")  # UTC: Nov 3
    twice = _message(a, utc, status="sent")  # sent, sent back to the queue by a device error, sent again
    _event(twice, "2026-11-04T10:00:00", "sent")
    _event(twice, "2026-11-04T10:30:00", "queued", reason="device_error")
    _event(twice, "2026-11-04T11:00:00", "sent")
    _event(_message(a, None, status="sent", message_type="sms"), "2026-11-02T10:00:00", "sent")  # no line: UTC
    _event(_message(a, ny, status="sent"), "2026-11-06T10:00:00", "sent")  # after the range
    _event(_message(b, other, status="sent"), "2026-11-03T12:00:00", "sent")  # another workspace

    reply = _message(a, ny, direction="inbound", status="received", body="STOP")
    Message.objects.filter(pk=reply.pk).update(created_at=at("2026-11-04T03:00:00"))  # New York: Nov 3
    DncEntry.objects.create(workspace=a, address="+12025550100", reason="opt_out_reply", source_message_id=reply.pk)
    DncEntry.objects.create(workspace=a, address="+12025550111", reason="manual")  # not an opt-out
    DncEntry.objects.filter(workspace=a).update(created_at=at("2026-11-04T03:00:00"))

    LineDailyUsage.objects.create(line=ny, day=date(2026, 11, 3), availability_count=5)
    LineDailyUsage.objects.create(line=utc, day=date(2026, 11, 4), availability_count=2)
    LineDailyUsage.objects.create(line=other, day=date(2026, 11, 3), availability_count=9)

    for _ in range(2):
        _message(a, ny, status="queued", queued_reason="device_gap")
    _message(a, ny, status="pending")
    _message(a, utc, status="scheduled", queued_reason="scheduled")
    _message(b, other, status="queued", queued_reason="line_busy")
    return ReportWorld(a=a, b=b, ny=ny, utc=utc, other=other)


def _local_day(moment: datetime, line: Line | None) -> date:
    return moment.astimezone(ZoneInfo(line.timezone if line else "UTC")).date()


def counts_in_db(workspace_ids: list[str], first: date, last: date) -> dict[str, Counter[tuple[str, date]]]:
    """metric → Counter[(line id or "", line-local day)], read row by row from the database."""
    counts: dict[str, Counter[tuple[str, date]]] = {m: Counter() for m in
                                                    ("sent", "delivered", "read", "failed", "fallback", "replies",
                                                     "opt_outs", "availability")}
    seen: set[tuple[str, str, date]] = set()
    events = MessageEvent.objects.filter(message__workspace_id__in=workspace_ids).select_related("message__line")
    for e in events:
        kind = e.to_status if e.to_status in ("sent", "delivered", "failed", "fallback") else (
            "read" if e.reason == "read" and not e.to_status else "")
        day = _local_day(e.at, e.message.line)
        if kind and first <= day <= last and (kind, e.message_id, day) not in seen:
            seen.add((kind, e.message_id, day))
            counts[kind][(e.message.line_id or "", day)] += 1
    for m in Message.objects.filter(workspace_id__in=workspace_ids, direction="inbound").select_related("line"):
        day = _local_day(m.created_at, m.line)
        if first <= day <= last:
            counts["replies"][(m.line_id or "", day)] += 1
    for d in DncEntry.objects.filter(workspace_id__in=workspace_ids, reason__in=("opt_out_reply", "carrier_opt_out")):
        source = Message.objects.select_related("line").filter(pk=d.source_message_id).first()
        line = source.line if source else None
        day = _local_day(d.created_at, line)
        if first <= day <= last:
            counts["opt_outs"][(line.pk if line else "", day)] += 1
    for u in LineDailyUsage.objects.filter(line__workspace_id__in=workspace_ids, day__gte=first, day__lte=last):
        if u.availability_count:
            counts["availability"][(u.line_id, u.day)] += u.availability_count
    return counts


def queue_in_db(workspace_ids: list[str]) -> Counter[tuple[str, str]]:
    waiting = Message.objects.filter(workspace_id__in=workspace_ids, status__in=("pending", "queued", "scheduled"))
    return Counter((m.line_id or "", m.queued_reason or m.status) for m in waiting)
