"""The reporting dashboard page. Mounted by `MessageAdmin.get_urls` behind `admin_site.admin_view`; needs
`messaging.view_message`; shows only the workspaces the user is a member of (all for superusers)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.contrib.admin import ModelAdmin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.safestring import SafeString

from messaging.dashboard.charts import BarSeries, color_for, horizontal_bars, stacked_bars
from messaging.dashboard.forms import ReportFilterForm
from messaging.models import Message
from messaging.reporting import METRICS, Report, build_report
from tuco.logging import get_logger

log = get_logger(__name__)


@dataclass
class Chart:
    metric: str
    label: str
    total: int
    svg: SafeString


def _day_labels(days: list[date]) -> list[str]:
    return [d.strftime("%b %-d") for d in days]


def metric_charts(report: Report) -> list[Chart]:
    categories, labels = [d.isoformat() for d in report.days], _day_labels(report.days)
    charts = []
    for metric, label in METRICS:
        series = [BarSeries(key=s.key, label=s.label, color=color_for(i),
                            values=tuple(report.value(metric, s.key, d) for d in report.days))
                  for i, s in enumerate(report.series)]
        charts.append(Chart(metric=metric, label=label, total=report.total(metric),
                            svg=stacked_bars(chart_id=f"chart-{metric}", title=f"{label} per day",
                                             categories=categories, labels=labels, series=series)))
    return charts


def queue_chart(report: Report) -> SafeString | None:
    rows = [(s.key, s.label) for s in report.series if report.queue.get(s.key)]
    if not rows:
        return None
    reasons = report.queue_reasons()
    segments = [BarSeries(key=reason, label=reason, color=color_for(j),
                          values=tuple(report.queue.get(key, {}).get(reason, 0) for key, _ in rows))
                for j, reason in enumerate(reasons)]
    return horizontal_bars(chart_id="chart-queue", title="Queue depth now, by reason", rows=rows, segments=segments)


def table_rows(report: Report) -> list[tuple[Any, date, list[tuple[str, int, int | None]]]]:
    """(series, day, [(metric, value, the availability cap or None)]) for every line-day with any number."""
    rows = []
    for s in report.series:
        cap = report.availability_caps.get(s.key)
        for d in report.days:
            values = [(m, report.value(m, s.key, d), cap if m == "availability" else None) for m, _ in METRICS]
            if any(v for _, v, _ in values):
                rows.append((s, d, values))
    return rows


def reporting_view(request: HttpRequest, *, model_admin: ModelAdmin) -> HttpResponse:
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    form = ReportFilterForm(request.GET or None, user=request.user)
    scope, first, last = form.scope_and_range()
    report = build_report(scope=scope, first=first, last=last)
    log.info("reporting.viewed", userId=request.user.pk, workspaces=scope.workspace_ids, lineId=scope.line_id,
             first=first.isoformat(), last=last.isoformat())
    reasons = report.queue_reasons()
    context: dict[str, Any] = {
        **model_admin.admin_site.each_context(request),
        "title": "Reporting",
        "opts": Message._meta,
        "form": form,
        "report": report,
        "first": first,
        "last": last,
        "metrics": METRICS,
        "charts": metric_charts(report),
        "queue_chart": queue_chart(report),
        "queue_reasons": [(j, r, color_for(j)) for j, r in enumerate(reasons)],
        "queue_rows": [(s, [report.queue.get(s.key, {}).get(r, 0) for r in reasons])
                       for s in report.series if report.queue.get(s.key)],
        "legend": [(s, color_for(i)) for i, s in enumerate(report.series)],
        "table": table_rows(report),
    }
    return TemplateResponse(request, "reporting/dashboard.html", context)
