"""Gauges derived from the database at scrape time (web's GET /metrics; tuco/metrics.py has the rest).

Current state, so the same from any web process and with any number of workers: messages by status and
channel, the queue by `queuedReason`, iMessage-availability checks left today per line, and the outgoing
webhook outbox (open events by status, age of the oldest open one: the delivery lag as it builds up).
Four grouped queries per scrape; the message count is the one that reads the whole table (a few hundred
ms per million rows), so keep the scrape interval at 15 s or more.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from lines.models import Line, LineDailyUsage
from messaging.models import Message, Status
from tuco.calendar import local_day
from webhooks.models import WebhookEvent


class DatabaseCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = timezone.now()
        messages = GaugeMetricFamily("tuco_messages", "Messages by status and channel (from the database).",
                                     labels=["status", "channel"])
        for row in Message.objects.order_by().values("status", "message_type").annotate(n=Count("pk")):
            messages.add_metric([row["status"], row["message_type"]], row["n"])
        yield messages

        queue = GaugeMetricFamily("tuco_queue_depth", "Queued messages by queuedReason (from the database).",
                                  labels=["queued_reason"])
        for row in (Message.objects.filter(status=Status.QUEUED).order_by().values("queued_reason")
                    .annotate(n=Count("pk"))):
            queue.add_metric([row["queued_reason"] or ""], row["n"])
        yield queue

        yield self._availability_budget(now)
        yield from self._webhook_outbox(now)

    @staticmethod
    def _availability_budget(now: Any) -> GaugeMetricFamily:
        budget = GaugeMetricFamily("tuco_line_availability_budget_remaining",
                                   "iMessage availability checks this line may still make today (its local day).",
                                   labels=["line"])
        lines = list(Line.objects.filter(is_active=True, device__isnull=False)
                     .values_list("pk", "timezone", "availability_daily_cap"))
        days = {pk: local_day(now, tz) for pk, tz, _ in lines}
        used = {(line_id, day): count for line_id, day, count in LineDailyUsage.objects.filter(
            line_id__in=list(days), day__in=set(days.values())).values_list("line_id", "day", "availability_count")}
        for pk, _, cap in lines:
            budget.add_metric([pk], max(0, cap - used.get((pk, days[pk]), 0)))
        return budget

    @staticmethod
    def _webhook_outbox(now: Any) -> Iterator[GaugeMetricFamily]:
        events = GaugeMetricFamily("tuco_webhook_events", "Outgoing webhook events not delivered, by status.",
                                   labels=["status"])
        open_statuses = (*WebhookEvent.OPEN, WebhookEvent.Status.DEAD)
        counts = dict(WebhookEvent.objects.filter(status__in=open_statuses).order_by().values("status")
                      .annotate(n=Count("pk")).values_list("status", "n"))
        for status in open_statuses:
            events.add_metric([str(status)], counts.get(status, 0))
        yield events
        oldest = WebhookEvent.objects.filter(status__in=WebhookEvent.OPEN).aggregate(at=Min("created_at"))["at"]
        yield GaugeMetricFamily("tuco_webhook_oldest_open_seconds",
                                "Age of the oldest webhook event still to deliver (0: none waiting).",
                                value=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
