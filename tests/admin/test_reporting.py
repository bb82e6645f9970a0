"""The reporting dashboard: numbers per line and line-local day counted in SQL, workspace scoping, the filters,
the charts on the page, and the indexes the aggregation queries can use."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse

from leads.models import DncEntry
from lines.models import LineDailyUsage
from messaging.models import Message, MessageEvent
from messaging.reporting import (
    NO_LINE,
    Scope,
    availability_sql,
    build_report,
    event_counts_sql,
    opt_outs_sql,
    queue_sql,
    replies_sql,
)
from tests.admin.conftest import logged_in, make_staff
from tests.admin.reporting_seed import FIRST, LAST, ReportWorld, counts_in_db, queue_in_db, seed_report_world

pytestmark = pytest.mark.django_db

NOV = {2: date(2026, 11, 2), 3: date(2026, 11, 3), 4: date(2026, 11, 4)}
URL = "admin:messaging_reporting"


@pytest.fixture
def rw() -> ReportWorld:
    return seed_report_world()


def _nonzero(report: Any, metric: str) -> dict[tuple[str, date], int]:
    return {k: v for k, v in report.counts.get(metric, {}).items() if v}


def test_the_numbers_per_line_and_local_day(rw: ReportWorld) -> None:
    report = build_report(scope=Scope(workspace_ids=[rw.a.pk]), first=FIRST, last=LAST)
    ny, utc = rw.ny.pk, rw.utc.pk
    # New York's 21:00 on Nov 2 is 02:00 UTC on Nov 3: it counts on the line's Nov 2.
    assert _nonzero(report, "sent") == {(ny, NOV[2]): 1, (ny, NOV[3]): 1, (utc, NOV[3]): 1, (utc, NOV[4]): 1,
                                        (NO_LINE, NOV[2]): 1}  # sent twice on one day: once
    assert _nonzero(report, "delivered") == {(ny, NOV[3]): 1}
    assert _nonzero(report, "read") == {(ny, NOV[3]): 1}
    assert _nonzero(report, "failed") == {(ny, NOV[4]): 1}
    assert _nonzero(report, "fallback") == {(ny, NOV[3]): 1}
    assert _nonzero(report, "replies") == {(ny, NOV[3]): 1}
    assert _nonzero(report, "opt_outs") == {(ny, NOV[3]): 1}  # the manual DNC entry is not an opt-out
    assert _nonzero(report, "availability") == {(ny, NOV[3]): 5, (utc, NOV[4]): 2}
    assert report.availability_caps[ny] == 70
    assert report.queue == {ny: {"device_gap": 2, "pending": 1}, utc: {"scheduled": 1}}
    assert [s.key for s in report.series] == [ny, utc, NO_LINE]
    assert rw.other.pk not in {s.key for s in report.series}
    assert report.total("sent") == 5 and report.day_total("sent", NOV[3]) == 2


def test_the_numbers_equal_an_independent_count_of_the_rows(rw: ReportWorld) -> None:
    for scope_ids in ([rw.a.pk], [rw.b.pk], [rw.a.pk, rw.b.pk]):
        report = build_report(scope=Scope(workspace_ids=scope_ids), first=FIRST, last=LAST)
        for metric, expected in counts_in_db(scope_ids, FIRST, LAST).items():
            assert _nonzero(report, metric) == dict(expected), metric
        assert {(k, r): n for k, reasons in report.queue.items() for r, n in reasons.items()} == \
            dict(queue_in_db(scope_ids))


def test_one_line_and_a_narrower_range(rw: ReportWorld) -> None:
    report = build_report(scope=Scope(workspace_ids=[rw.a.pk], line_id=rw.utc.pk), first=NOV[4], last=NOV[4])
    assert report.days == [NOV[4]]
    assert _nonzero(report, "sent") == {(rw.utc.pk, NOV[4]): 1}
    assert _nonzero(report, "availability") == {(rw.utc.pk, NOV[4]): 2}
    assert report.queue == {rw.utc.pk: {"scheduled": 1}}
    assert [s.key for s in report.series] == [rw.utc.pk]


def _svg_values(html: str, metric: str) -> dict[tuple[str, str], int]:
    svg = re.search(rf'<svg class="tuco-chart" id="chart-{metric}".*?</svg>', html, re.S)
    assert svg, metric
    return {(m[0], m[1]): int(m[2]) for m in
            re.findall(r'<rect class="bar" data-series="([^"]*)" data-category="([^"]*)" data-value="(\d+)"',
                       svg.group(0))}


def test_the_page_draws_the_numbers_for_the_operators_workspaces_only(rw: ReportWorld) -> None:
    operator = make_staff("opal", workspaces=[rw.a])
    client = logged_in(operator)
    html = client.get(reverse(URL), {"date_from": FIRST.isoformat(), "date_to": LAST.isoformat()}).content.decode()
    assert _svg_values(html, "sent") == {(rw.ny.pk, "2026-11-02"): 1, (rw.ny.pk, "2026-11-03"): 1,
                                         (rw.utc.pk, "2026-11-03"): 1, (rw.utc.pk, "2026-11-04"): 1,
                                         (NO_LINE, "2026-11-02"): 1}
    assert _svg_values(html, "availability") == {(rw.ny.pk, "2026-11-03"): 5, (rw.utc.pk, "2026-11-04"): 2}
    assert 'data-metric="sent" data-total="5"' in html
    assert _svg_values(html, "queue") == {(rw.ny.pk, "device_gap"): 2, (rw.ny.pk, "pending"): 1,
                                          (rw.utc.pk, "scheduled"): 1}
    assert rw.other.pk not in html and "Other Co" not in html  # workspace B: not a choice, not a number
    # Naming B's workspace or line by hand is refused, not counted.
    refused = client.get(reverse(URL), {"workspace": rw.b.pk, "line": rw.other.pk}).content.decode()
    assert 'id="report-errors"' in refused and rw.other.pk not in re.sub(r'<ul class="errorlist".*?</ul>', "",
                                                                         refused, flags=re.S)
    assert "data-value=\"9\"" not in refused


def test_filters_validate_the_range(rw: ReportWorld, alice: Any) -> None:
    client = logged_in(alice)
    backwards = client.get(reverse(URL), {"date_from": "2026-11-04", "date_to": "2026-11-02"}).content.decode()
    assert "The start date must be on or before the end date." in backwards
    too_long = client.get(reverse(URL), {"date_from": "2026-01-01", "date_to": "2026-11-02"}).content.decode()
    assert "Choose at most 92 days." in too_long
    mismatch = client.get(reverse(URL), {"workspace": rw.a.pk, "line": rw.other.pk}).content.decode()
    assert "This line belongs to another workspace." in mismatch
    # A superuser sees every workspace, and the header links the page.
    everything = client.get(reverse(URL), {"date_from": FIRST.isoformat(), "date_to": LAST.isoformat()})
    assert (rw.other.pk, "2026-11-03") in _svg_values(everything.content.decode(), "sent")
    assert f'href="{reverse(URL)}"' in client.get(reverse("admin:index")).content.decode()


def test_the_page_needs_the_message_view_permission(rw: ReportWorld) -> None:
    no_perms = make_staff("nemo", workspaces=[rw.a], perms=False)
    assert logged_in(no_perms).get(reverse(URL)).status_code == 403


def _plan(sql: str, params: list[Any]) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def _column_defaults(model: Any, computed: dict[str, str]) -> tuple[list[str], list[str], list[Any]]:
    """Every column of `model` for a bulk INSERT … SELECT: `computed` SQL where given, else the field's own
    default as a parameter (NULL when nullable), so a column added later needs no edit here."""
    columns, values, params = [], [], []
    for field in model._meta.concrete_fields:
        columns.append(f'"{field.column}"')
        if field.column in computed:
            values.append(computed[field.column])
            continue
        default = None if field.null else field.get_default()
        values.append("%s")
        params.append(field.get_db_prep_save(default, connection) if default is not None else None)
    return columns, values, params


def _volume(workspace: Any, line: Any, count: int) -> None:
    """`count` messages (mostly finished, a few waiting), each with a pending and a sent timeline entry, and
    do-not-contact entries, then ANALYZE: the planner decides on realistic numbers."""
    messages, events = Message._meta.db_table, MessageEvent._meta.db_table
    with connection.cursor() as cursor:
        computed = {
            "id": "lpad(to_hex(g), 24, '0')", "workspace_id": f"'{workspace.pk}'", "line_id": f"'{line.pk}'",
            "direction": "CASE WHEN g %% 10 = 0 THEN 'inbound' ELSE 'outbound' END", "body": "'hi'",
            "status": "CASE WHEN g %% 100 = 0 THEN 'queued' ELSE 'delivered' END", "attempt_count": "1",
            "created_at": "now() - g * interval '1 minute'", "updated_at": "now()",
        }
        columns, values, params = _column_defaults(Message, computed)
        cursor.execute(f'INSERT INTO "{messages}" ({", ".join(columns)}) SELECT {", ".join(values)} '
                       "FROM generate_series(1, %s) g", [*params, count])
        cursor.execute(
            f'INSERT INTO "{events}" (message_id, at, from_status, to_status, reason, detail) '
            "SELECT lpad(to_hex(g), 24, '0'), now() - g * interval '1 minute', '', s, s, '{}' "
            "FROM generate_series(1, %s) g, unnest(ARRAY['pending', 'sending', 'sent']) s", [count])
        cursor.execute(f'ANALYZE "{messages}"')
        cursor.execute(f'ANALYZE "{events}"')
    for n in range(300):
        DncEntry.objects.create(workspace=workspace, address=f"+1202555{n:04d}", reason="opt_out_reply")
    LineDailyUsage.objects.bulk_create([LineDailyUsage(line=line, day=date(2024, 1, 1) + timedelta(days=n),
                                                       availability_count=n % 70) for n in range(1000)
                                        if date(2024, 1, 1) + timedelta(days=n) != date(2026, 11, 3)])
    with connection.cursor() as cursor:
        cursor.execute(f'ANALYZE "{DncEntry._meta.db_table}"')
        cursor.execute(f'ANALYZE "{LineDailyUsage._meta.db_table}"')


def test_the_aggregations_use_their_indexes(rw: ReportWorld) -> None:
    """The planner's own choice (nothing forced) for a workspace of 30,000 messages and 90,000 timeline entries."""
    _volume(rw.b, rw.other, 30_000)
    start, end = "2026-11-01T00:00:00Z", "2026-11-06T00:00:00Z"
    scope, one_line = Scope(workspace_ids=[rw.b.pk]), Scope(workspace_ids=[rw.b.pk], line_id=rw.other.pk)
    expected = [
        (event_counts_sql(scope), [start, end], [FIRST, LAST], "event_report_at"),
        (replies_sql(scope), [start, end], [FIRST, LAST], "msg_ws_direction"),
        # A few hundred entries are read whole (the planner's right call); a long list through the workspace
        # prefix of uniq_dnc_address. Either way each source message is one index lookup.
        (opt_outs_sql(scope), [start, end], [FIRST, LAST], "on messaging_message m"),
        (availability_sql(scope), [FIRST, LAST], [], "uniq_line_day"),
        (queue_sql(scope), [], [], "msg_ws_status"),
        (queue_sql(one_line), [], [], "msg_line_queue"),
    ]
    for (sql, params), before, after, index in expected:
        plan = _plan(sql, [*before, *params, *after])
        assert index in plan, plan
        assert f"Seq Scan on {Message._meta.db_table}" not in plan, plan
        assert f"Seq Scan on {MessageEvent._meta.db_table}" not in plan, plan


def test_charts_escape_labels_and_carry_their_numbers() -> None:
    from messaging.dashboard.charts import BarSeries, axis_ticks, stacked_bars

    svg = stacked_bars(chart_id="chart-x", title="Sent <per day>", categories=["2026-11-02", "2026-11-03"],
                       labels=["Nov 2", "Nov 3"], series=[BarSeries(key="l1", label='<script>"x"</script>',
                                                                    color="#000", values=(3, 0))])
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "Sent &lt;per day&gt;" in svg
    assert svg.count('<rect class="bar"') == 1  # nothing drawn for a zero
    assert 'data-series="l1" data-category="2026-11-02" data-value="3"' in svg
    assert axis_ticks(0) == [0, 1] and axis_ticks(3) == [0, 1, 2, 3] and axis_ticks(13) == [0, 5, 10, 15]
