"""The reporting dashboard's numbers: per line and per day, counted in PostgreSQL (GROUP BY), workspace-scoped.

A day is the line's own calendar day (its `timezone`, as its daily limits and availability budget count);
messages without a line (SMS through the workspace's Twilio number) count in UTC days under "No line".

- sent, delivered, failed, fallback: the timeline entries moving a message to that status, by their
  time; a message counts once per day and metric. Index `event_report_at` (partial, on `at`).
- read: the read-receipt timeline entry. Index `event_report_at`.
- replies: inbound messages, by creation time. Index `msg_ws_direction` (workspace, direction, created_at).
- opt-outs: do-not-contact entries an opt-out made (a STOP reply, a carrier opt-out), under the line of
  the message that caused them. Index `uniq_dnc_address` (its workspace prefix).
- availability checks used: the line's daily counter (`LineDailyUsage.availability_count`) against its
  cap. Index `uniq_line_day`.
- queue depth by reason: messages waiting now (pending, queued, scheduled), by `queuedReason`. Index
  `msg_ws_status`, or `msg_line_queue` for one line.

The timeline is insert-only, so its partial index costs one index entry per counted status change and
nothing on the (much updated) message rows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import connection

from leads.models import DncEntry
from lines.models import Line, LineDailyUsage
from messaging.models import Message, MessageEvent

NO_LINE = ""  # the series key of messages without a line

# (key, label) in the dashboard's order.
METRICS: tuple[tuple[str, str], ...] = (
    ("sent", "Sent"), ("delivered", "Delivered"), ("read", "Read"), ("failed", "Failed"),
    ("fallback", "Fallback"), ("replies", "Replies"), ("opt_outs", "Opt-outs"),
    ("availability", "Availability checks used"),
)
EVENT_STATUSES = ("sent", "delivered", "failed", "fallback")
READ_REASON = "read"
OPT_OUT_REASONS = ("opt_out_reply", "carrier_opt_out")
WAITING_STATUSES = ("pending", "queued", "scheduled")
# Any line-local day lies within this margin of the UTC day (UTC-12 … UTC+14).
_ZONE_MARGIN = timedelta(days=1)

_EVENTS = MessageEvent._meta.db_table
_MESSAGES = Message._meta.db_table
_LINES = Line._meta.db_table
_DNC = DncEntry._meta.db_table
_USAGE = LineDailyUsage._meta.db_table


@dataclass(frozen=True)
class Scope:
    """Whose numbers: `workspace_ids` None means every workspace (a superuser without a filter)."""

    workspace_ids: list[str] | None
    line_id: str = ""


@dataclass
class Series:
    key: str  # line id, or NO_LINE
    label: str
    workspace: str = ""


@dataclass
class Report:
    days: list[date]
    series: list[Series]
    # counts[metric][(series key, day)]
    counts: dict[str, dict[tuple[str, date], int]] = field(default_factory=dict)
    availability_caps: dict[str, int] = field(default_factory=dict)
    # queue[series key][reason]
    queue: dict[str, dict[str, int]] = field(default_factory=dict)

    def value(self, metric: str, key: str, day: date) -> int:
        return self.counts.get(metric, {}).get((key, day), 0)

    def day_total(self, metric: str, day: date) -> int:
        return sum(self.value(metric, s.key, day) for s in self.series)

    def total(self, metric: str) -> int:
        return sum(self.counts.get(metric, {}).values())

    def series_total(self, metric: str, key: str) -> int:
        return sum(v for (k, _), v in self.counts.get(metric, {}).items() if k == key)

    def queue_reasons(self) -> list[str]:
        return sorted({reason for reasons in self.queue.values() for reason in reasons})


def _day_of(column: str) -> str:
    """The SQL for the line-local calendar day of a timestamp column (`l` is the joined line)."""
    return f"({column} AT TIME ZONE COALESCE(l.timezone, 'UTC'))::date"


def _scope_sql(scope: Scope, workspace_column: str, line_column: str) -> tuple[str, list[Any]]:
    parts, params = [], []
    if scope.workspace_ids is not None:
        parts.append(f"{workspace_column} = ANY(%s)")
        params.append(list(scope.workspace_ids))
    if scope.line_id:
        parts.append(f"{line_column} = %s")
        params.append(scope.line_id)
    return "".join(f" AND {p}" for p in parts), params


def _rows(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _utc_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    start = datetime.combine(first, time.min, tzinfo=UTC) - _ZONE_MARGIN
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC) + _ZONE_MARGIN
    return start, end


def event_counts_sql(scope: Scope) -> tuple[str, list[Any]]:
    """Status changes and read receipts per (line, line-local day, kind). The WHERE repeats the partial index
    predicate of `event_report_at` word for word, so the planner can use it."""
    where, params = _scope_sql(scope, "m.workspace_id", "m.line_id")
    statuses = ", ".join(f"'{s}'" for s in EVENT_STATUSES)
    sql = (
        f"SELECT line_id, day, kind, COUNT(DISTINCT message_id) FROM ("
        f" SELECT m.line_id, {_day_of('e.at')} AS day, e.message_id,"
        f"  CASE WHEN e.to_status = '' THEN 'read' ELSE e.to_status END AS kind"
        f" FROM \"{_EVENTS}\" e JOIN \"{_MESSAGES}\" m ON m.id = e.message_id"
        f" LEFT JOIN \"{_LINES}\" l ON l.id = m.line_id"
        f" WHERE e.at >= %s AND e.at < %s"
        f" AND (e.to_status IN ({statuses}) OR (e.reason = '{READ_REASON}' AND e.to_status = ''))"
        f"{where}) counted WHERE day BETWEEN %s AND %s GROUP BY 1, 2, 3"
    )
    return sql, params


def replies_sql(scope: Scope) -> tuple[str, list[Any]]:
    where, params = _scope_sql(scope, "m.workspace_id", "m.line_id")
    sql = (
        f"SELECT line_id, day, COUNT(*) FROM ("
        f" SELECT m.line_id, {_day_of('m.created_at')} AS day FROM \"{_MESSAGES}\" m"
        f" LEFT JOIN \"{_LINES}\" l ON l.id = m.line_id"
        f" WHERE m.direction = 'inbound' AND m.created_at >= %s AND m.created_at < %s{where}"
        f") counted WHERE day BETWEEN %s AND %s GROUP BY 1, 2"
    )
    return sql, params


def opt_outs_sql(scope: Scope) -> tuple[str, list[Any]]:
    where, params = _scope_sql(scope, "d.workspace_id", "m.line_id")
    reasons = ", ".join(f"'{r}'" for r in OPT_OUT_REASONS)
    sql = (
        f"SELECT line_id, day, COUNT(*) FROM ("
        f" SELECT m.line_id, {_day_of('d.created_at')} AS day FROM \"{_DNC}\" d"
        f" LEFT JOIN \"{_MESSAGES}\" m ON m.id = d.source_message_id AND m.workspace_id = d.workspace_id"
        f" LEFT JOIN \"{_LINES}\" l ON l.id = m.line_id"
        f" WHERE d.reason IN ({reasons}) AND d.created_at >= %s AND d.created_at < %s{where}"
        f") counted WHERE day BETWEEN %s AND %s GROUP BY 1, 2"
    )
    return sql, params


def availability_sql(scope: Scope) -> tuple[str, list[Any]]:
    where, params = _scope_sql(scope, "l.workspace_id", "l.id")
    sql = (f"SELECT u.line_id, u.day, u.availability_count FROM \"{_USAGE}\" u"
           f" JOIN \"{_LINES}\" l ON l.id = u.line_id"
           f" WHERE u.day BETWEEN %s AND %s AND u.availability_count > 0{where}")
    return sql, params


def queue_sql(scope: Scope) -> tuple[str, list[Any]]:
    where, params = _scope_sql(scope, "m.workspace_id", "m.line_id")
    statuses = ", ".join(f"'{s}'" for s in WAITING_STATUSES)
    sql = (f"SELECT m.line_id, CASE WHEN m.queued_reason = '' THEN m.status ELSE m.queued_reason END, COUNT(*)"
           f" FROM \"{_MESSAGES}\" m WHERE m.status IN ({statuses}){where} GROUP BY 1, 2")
    return sql, params


def build_report(*, scope: Scope, first: date, last: date) -> Report:
    """Every number of the dashboard for `scope` over the line-local days first..last (inclusive)."""
    start, end = _utc_bounds(first, last)
    counts: dict[str, dict[tuple[str, date], int]] = defaultdict(dict)

    sql, params = event_counts_sql(scope)
    for line_id, day, kind, n in _rows(sql, [start, end, *params, first, last]):
        counts[kind][(line_id or NO_LINE, day)] = n
    for metric, builder in (("replies", replies_sql), ("opt_outs", opt_outs_sql)):
        sql, params = builder(scope)
        for line_id, day, n in _rows(sql, [start, end, *params, first, last]):
            counts[metric][(line_id or NO_LINE, day)] = n
    sql, params = availability_sql(scope)
    for line_id, day, n in _rows(sql, [first, last, *params]):
        counts["availability"][(line_id, day)] = n
    queue: dict[str, dict[str, int]] = defaultdict(dict)
    sql, params = queue_sql(scope)
    for line_id, reason, n in _rows(sql, params):
        queue[line_id or NO_LINE][reason] = n

    keys = {key for metric in counts.values() for key, _ in metric} | set(queue)
    if scope.line_id:
        keys.add(scope.line_id)
    series, caps = _series(keys, scope)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return Report(days=days, series=series, counts=dict(counts), availability_caps=caps, queue=dict(queue))


def _series(keys: set[str], scope: Scope) -> tuple[list[Series], dict[str, int]]:
    lines = Line.objects.filter(pk__in=[k for k in keys if k]).select_related("workspace")
    if scope.workspace_ids is not None:
        lines = lines.filter(workspace_id__in=scope.workspace_ids)
    found = sorted(lines, key=lambda line: (line.workspace.name, str(line)))
    series = [Series(key=line.pk, label=_label(line), workspace=line.workspace.name) for line in found]
    if NO_LINE in keys:
        series.append(Series(key=NO_LINE, label="No line (SMS)"))
    return series, {line.pk: line.availability_daily_cap for line in found}


def _label(line: Line) -> str:
    name = line.display_name
    return name if name == str(line) else f"{name} ({line})"
