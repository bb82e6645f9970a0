"""Why a message waits (`queuedReason`): the one vocabulary of the gates (messaging.send.pacing), the
capacity reservations (lines.capacity), the calendar (tuco.calendar) and the explanations (messaging.explain).
"""

from __future__ import annotations

from django.db import models


class QueuedReason(models.TextChoices):
    """Each has its sentence in messaging.explain."""

    SCHEDULED = "scheduled"
    TIME_WINDOW = "time_window"
    DAY_NOT_ALLOWED = "day_not_allowed"
    LINE_DAILY_TOTAL = "line_daily_total"
    LINE_DAILY_NEW = "line_daily_new"
    LINE_FIRST_TOUCH_HOUR = "line_first_touch_hour"
    DEVICE_GAP = "device_gap"
    CONTACT_GAP = "contact_gap"
    LINE_UNHEALTHY = "line_unhealthy"
    LINE_INACTIVE = "line_inactive"
    NO_LINE = "no_line"
    AVAILABILITY_BUDGET = "availability_budget"
    RETRY_WAIT = "retry_wait"
    LINE_BUSY = "line_busy"
    THREAD_ORDER = "thread_order"
    CAMPAIGN_PAUSED = "campaign_paused"
