"""Operator admin for devices (Mac relays), lines and their usage counters.

Secrets (`Device.relay_password`, `Line.smtp_password`, `Line.webhook_secret`)
never reach a page: they are left out of every form and display, and the two
an operator may set are write-only inputs.
"""

from __future__ import annotations

import zoneinfo
from datetime import timedelta
from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, Prefetch, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html

from lines.models import AvailabilityResult, Device, Line, LineContact, LineDailyUsage, LineHourlyUsage
from lines.services import line_mark_healthy
from tuco.addresses import InvalidAddress, normalize_email, normalize_phone
from tuco.admin import (
    CappedCountPaginator,
    ReadOnlyAdminMixin,
    ReadOnlyInline,
    WorkspaceListFilter,
    WorkspaceScopedAdmin,
    WriteOnlySecretsForm,
    secret_input,
    secret_state,
)
from tuco.calendar import local_day

# ---------------------------------------------------------------------------
# Devices
# ---------------------------------------------------------------------------


class DeviceForm(WriteOnlySecretsForm):
    SECRET_FIELDS = ("relay_password",)
    REQUIRED_ON_ADD = ("relay_password",)
    new_relay_password = secret_input("Relay password")

    class Meta:
        model = Device
        exclude = ("relay_password",)

    def clean_relay_url(self) -> str:
        return (self.cleaned_data.get("relay_url") or "").strip().rstrip("/")


class LineOnDeviceInline(ReadOnlyInline):
    model = Line
    fields = ("phone", "email", "channel_type", "is_active", "health_status")
    show_change_link = True


@admin.register(Device)
class DeviceAdmin(WorkspaceScopedAdmin):
    form = DeviceForm
    list_display = ("__str__", "relay_url", "workspace", "private_api", "os_version", "device_gap_seconds",
                    "line_count", "last_send_at")
    list_select_related = ("workspace",)
    list_filter = ("private_api", WorkspaceListFilter)
    search_fields = ("name", "relay_url", "=id")
    readonly_fields = ("id", "relay_password_state", "last_send_at", "last_availability_check_at", "created_at",
                       "updated_at")
    fieldsets = (
        (None, {"fields": ("id", "workspace", "name", "relay_url", "relay_password_state", "new_relay_password",
                           "private_api", "chat_guid_prefix", "os_version")}),
        ("Pacing", {"fields": ("device_gap_seconds", "last_send_at", "last_availability_check_at")}),
        ("Record", {"fields": ("created_at", "updated_at")}),
    )
    inlines = (LineOnDeviceInline,)
    ordering = ("name", "relay_url")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).annotate(_lines=Count("lines"))

    @admin.display(description="lines", ordering="_lines")
    def line_count(self, obj: Device) -> int:
        return getattr(obj, "_lines", 0)

    @admin.display(description="relay password")
    def relay_password_state(self, obj: Device) -> str:
        return secret_state(obj.relay_password)


# ---------------------------------------------------------------------------
# Lines
# ---------------------------------------------------------------------------


class LineForm(WriteOnlySecretsForm):
    SECRET_FIELDS = ("smtp_password",)
    new_smtp_password = secret_input("SMTP password")

    class Meta:
        model = Line
        exclude = ("smtp_password", "webhook_secret")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("phone"):
            try:
                data["phone"] = normalize_phone(data["phone"])
            except InvalidAddress:
                self.add_error("phone", "Enter a phone number in E.164 format, e.g. +14155550123.")
        if data.get("email"):
            try:
                data["email"] = normalize_email(data["email"])
            except InvalidAddress:
                self.add_error("email", "Enter a valid email address.")
        tz = data.get("timezone")
        if tz:
            try:
                zoneinfo.ZoneInfo(tz)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                self.add_error("timezone", "Enter an IANA time zone, e.g. America/New_York.")
        channel = data.get("channel_type")
        if channel == Line.Channel.PHONE and not data.get("device"):
            self.add_error("device", "A phone line sends through a device relay: choose one.")
        if channel == Line.Channel.PHONE and not data.get("phone") and "phone" not in self.errors:
            self.add_error("phone", "A phone line needs its phone number.")
        if channel == Line.Channel.EMAIL and not data.get("email") and "email" not in self.errors:
            self.add_error("email", "An email line needs its address.")
        return data


class LineDailyUsageInline(ReadOnlyInline):
    model = LineDailyUsage
    fields = ("day", "total_count", "new_count", "availability_count")
    ordering = ("-day",)
    verbose_name_plural = "usage (last 14 days)"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        # A line accumulates one row a day: the recent ones are what an operator needs here.
        return super().get_queryset(request).filter(day__gte=timezone.now().date() - timedelta(days=14))


class HealthFilter(admin.SimpleListFilter):
    title = "health"
    parameter_name = "health"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(h.value, h.label) for h in Line.Health]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(health_status=self.value()) if self.value() else queryset


def _today_usage(line: Line) -> LineDailyUsage | None:
    """The usage row of the line's *local* today (counters reset at the line's midnight)."""
    day = local_day(timezone.now(), line.timezone)
    rows = getattr(line, "recent_usage", None)
    if rows is None:
        return LineDailyUsage.objects.filter(line=line, day=day).first()
    return next((row for row in rows if row.day == day), None)


@admin.register(Line)
class LineAdmin(WorkspaceScopedAdmin):
    form = LineForm
    list_display = ("__str__", "display_name", "channel_type", "workspace", "device", "active_badge",
                    "health_badge", "limits", "today_usage")
    list_select_related = ("workspace", "device")
    list_filter = ("channel_type", "is_active", HealthFilter, WorkspaceListFilter)
    search_fields = ("phone", "email", "first_name", "last_name", "=id")
    raw_id_fields = ("device",)
    readonly_fields = ("id", "health_status", "health_reason", "health_checked_at", "today_usage",
                       "smtp_password_state", "webhook_secret_state", "webhook_registered_at", "last_first_touch_at",
                       "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("id", "workspace", "channel_type", "line_type", "device", "phone", "email",
                           "first_name", "last_name", "is_active", "timezone")}),
        ("Health", {"fields": ("health_status", "health_reason", "health_checked_at")}),
        ("Limits and today's usage", {"fields": ("daily_total_limit", "daily_new_limit",
                                                 "hourly_first_touch_limit", "contact_gap_seconds",
                                                 "availability_daily_cap", "today_usage",
                                                 "last_first_touch_at")}),
        ("Relay webhook", {"fields": ("webhook_secret_state", "webhook_registered_at")}),
        ("Email (SMTP)", {"classes": ("collapse",), "fields": ("smtp_host", "smtp_port", "smtp_username",
                                                              "smtp_password_state", "new_smtp_password",
                                                              "smtp_use_tls", "smtp_use_ssl")}),
        ("Record", {"fields": ("created_at", "updated_at")}),
    )
    inlines = (LineDailyUsageInline,)
    actions = ("mark_healthy",)
    ordering = ("phone", "email")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        # Lines live in many timezones: fetch yesterday..tomorrow (UTC) and pick each line's local day.
        today = timezone.now().date()
        recent = LineDailyUsage.objects.filter(day__gte=today - timedelta(days=1), day__lte=today + timedelta(days=1))
        return super().get_queryset(request).prefetch_related(
            Prefetch("daily_usage", queryset=recent, to_attr="recent_usage"))

    @admin.display(description="active", boolean=True, ordering="is_active")
    def active_badge(self, obj: Line) -> bool:
        return obj.is_active

    @admin.display(description="health", ordering="health_status")
    def health_badge(self, obj: Line) -> str:
        css = "tuco-badge-ok" if obj.is_healthy else "tuco-badge-bad"
        return format_html('<span class="tuco-badge {}" title="{}">{}</span>', css, obj.health_reason,
                           obj.health_status)

    @admin.display(description="limits")
    def limits(self, obj: Line) -> str:
        return f"{obj.daily_total_limit}/day · {obj.daily_new_limit} new/day"

    @admin.display(description="today")
    def today_usage(self, obj: Line) -> str:
        if obj._state.adding:
            return "—"
        usage = _today_usage(obj)
        total, new = (usage.total_count, usage.new_count) if usage else (0, 0)
        return f"{total}/{obj.daily_total_limit} sent · {new}/{obj.daily_new_limit} new"

    @admin.display(description="SMTP password")
    def smtp_password_state(self, obj: Line) -> str:
        return secret_state(obj.smtp_password)

    @admin.display(description="webhook secret")
    def webhook_secret_state(self, obj: Line) -> str:
        return secret_state(obj.webhook_secret)

    @admin.action(description="Mark selected lines healthy (re-enable sending)", permissions=["change"])
    def mark_healthy(self, request: HttpRequest, queryset: QuerySet[Line]) -> None:
        changed = sum(1 for pk in queryset.values_list("pk", flat=True) if line_mark_healthy(line_id=pk))
        self.message_user(request, f"{changed} line{'' if changed == 1 else 's'} marked healthy.", messages.SUCCESS)


# ---------------------------------------------------------------------------
# Counters and caches (written by the engine; read-only here)
# ---------------------------------------------------------------------------


@admin.register(LineDailyUsage)
class LineDailyUsageAdmin(ReadOnlyAdminMixin, WorkspaceScopedAdmin):
    workspace_path = "line__workspace"
    list_display = ("line", "day", "total_count", "new_count", "availability_count")
    list_select_related = ("line",)
    list_filter = (WorkspaceListFilter,)
    search_fields = ("line__phone", "line__email")
    date_hierarchy = "day"
    show_full_result_count = False
    paginator = CappedCountPaginator
    ordering = ("-day",)


@admin.register(LineHourlyUsage)
class LineHourlyUsageAdmin(ReadOnlyAdminMixin, WorkspaceScopedAdmin):
    workspace_path = "line__workspace"
    list_display = ("line", "hour", "first_touch_count")
    list_select_related = ("line",)
    list_filter = (WorkspaceListFilter,)
    search_fields = ("line__phone", "line__email")
    show_full_result_count = False
    paginator = CappedCountPaginator
    ordering = ("-hour",)


@admin.register(LineContact)
class LineContactAdmin(ReadOnlyAdminMixin, WorkspaceScopedAdmin):
    workspace_path = "line__workspace"
    list_display = ("address", "line", "first_message_id", "created_at")
    list_select_related = ("line",)
    list_filter = (WorkspaceListFilter,)
    search_fields = ("address", "=first_message_id")
    show_full_result_count = False
    paginator = CappedCountPaginator
    ordering = ("-created_at",)


@admin.register(AvailabilityResult)
class AvailabilityResultAdmin(ReadOnlyAdminMixin, WorkspaceScopedAdmin):
    list_display = ("address", "available", "workspace", "line", "checked_at", "expires_at")
    list_select_related = ("workspace", "line")
    list_filter = ("available", WorkspaceListFilter)
    search_fields = ("address",)
    show_full_result_count = False
    paginator = CappedCountPaginator
    ordering = ("-checked_at",)

