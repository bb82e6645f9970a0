"""Operator admin for messages and threads, and the Unibox mount point.

Nothing here writes `Message.status`: the cancel and retry actions call the
same services as the API (`message_cancel`, `message_retry`), which go through
the state machine's guarded UPDATE and report whether the row really moved.
Every message column is read-only and a message is never saved from a form.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.contrib import admin, messages
from django.db.models import F, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join

from lines.models import Line
from messaging.dashboard.views import reporting_view
from messaging.explain import explanation_display
from messaging.exports import CSV, NDJSON
from messaging.exports_api import export_response
from messaging.models import DedupGuard, Direction, Message, MessageEvent, SendAttempt, Thread
from messaging.services.cancel import message_cancel
from messaging.services.retry import message_retry
from messaging.threads import thread_set_line
from messaging.unibox import views as unibox_views
from messaging.unibox.presentation import TYPE_LABELS, attachments_of, failure_text, shown_text, status_badge
from tuco.admin import (
    CappedCountPaginator,
    ReadOnlyAdminMixin,
    ReadOnlyInline,
    WorkspaceListFilter,
    WorkspaceScopedAdmin,
    scope_queryset,
)
from tuco.errors import ApiError
from tuco.models import Workspace


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


class LineListFilter(admin.SimpleListFilter):
    """Lines of the visible workspaces (reads the line table, not DISTINCT over millions of messages)."""

    title = "line"
    parameter_name = "line"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        lines = scope_queryset(Line.objects.all(), request.user, "workspace").only("id", "phone", "email")
        return [(line.pk, str(line)) for line in lines.order_by("phone", "email")[:300]]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(line_id=self.value()) if self.value() else queryset


class MessageTypeFilter(admin.SimpleListFilter):
    title = "message type"
    parameter_name = "message_type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(TYPE_LABELS.items())

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(message_type=self.value()) if self.value() else queryset


class ErrorFilter(admin.SimpleListFilter):
    title = "error"
    parameter_name = "has_error"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "With an error"), ("no", "No error")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.exclude(error="")
        if self.value() == "no":
            return queryset.filter(error="")
        return queryset


# ---------------------------------------------------------------------------
# Messages
# ---------------------------------------------------------------------------


class _MessageChildInline(ReadOnlyInline):
    # Whoever may view the message may view its timeline and attempts.
    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("messaging.view_message") or request.user.has_perm("messaging.change_message")


class MessageEventInline(_MessageChildInline):
    model = MessageEvent
    fields = ("at", "from_status", "to_status", "reason", "detail")
    ordering = ("at", "id")
    verbose_name_plural = "timeline"


class SendAttemptInline(_MessageChildInline):
    model = SendAttempt
    fields = ("number", "channel", "line", "to_address", "started_at", "duration_ms", "response_code", "outcome",
              "error_class", "error", "external_id", "temp_guid")
    ordering = ("started_at", "id")
    verbose_name_plural = "send attempts"


@admin.register(Message)
class MessageAdmin(WorkspaceScopedAdmin):
    list_display = ("id", "status_display", "kind", "line", "recipient", "created_at", "sent_at", "workspace")
    list_display_links = ("id",)
    list_select_related = ("line", "workspace")
    list_filter = ("status", "direction", MessageTypeFilter, LineListFilter, WorkspaceListFilter, ErrorFilter)
    search_fields = ("=id", "^send_to_address", "^recipient_phone", "recipient_email", "recipient_name",
                     "=external_message_id", "=correlation_id", "=batch_id")
    search_help_text = "Exact id, external id, correlation or batch id; recipient address, phone, email or name."
    show_full_result_count = False
    paginator = CappedCountPaginator
    list_per_page = 50
    ordering = ("-id",)  # ids are time-ordered, and the primary key index serves this sort
    inlines = (MessageEventInline, SendAttemptInline)
    actions = ("cancel_messages", "retry_failed_messages", "export_csv", "export_ndjson")
    fieldsets = (
        (None, {"fields": ("id", "workspace", "thread_link", "lead", "line", "line_pinned", "direction",
                           "type_label", "sent_text", "template_text", "attachments")}),
        ("Status", {"fields": ("status_display", "queued_reason", "next_attempt_at", "explanation",
                               "failure", "attempt_count", "enqueued_at", "sending_since")}),
        ("Recipient", {"fields": ("recipient_phone", "recipient_email", "recipient_name", "send_to_address",
                                  "from_line_phone", "from_line_email")}),
        ("Delivery", {"fields": ("sent_at", "delivered_at", "read_at", "external_message_id",
                                 "is_new_conversation", "is_read", "reply_to")}),
        ("Errors and fallback", {"fields": ("error", "error_code", "fallback_reason", "checked_addresses",
                                            "availability_from_cache", "fallback_sms_status", "fallback_provider",
                                            "fallback_external_id", "fallback_error", "fallback_sent_at",
                                            "fallback_delivered_at", "force_fallback",
                                            "send_fallback_sms_on_failed")}),
        ("Scheduling", {"classes": ("collapse",), "fields": ("scheduled_date", "timezone", "send_window_start",
                                                             "send_window_end", "allowed_days_of_week")}),
        ("Integration", {"classes": ("collapse",), "fields": ("batch_id", "correlation_id", "execution_id",
                                                              "ghl_workflow_id", "email_message_id", "reservation",
                                                              "created_at", "updated_at")}),
    )

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [path("reporting/", wrap(partial(reporting_view, model_admin=self)), name="messaging_reporting"),
                *super().get_urls()]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        # The explanation sentence names the line's limits, an unsent text renders from the lead: load them.
        return super().get_queryset(request).select_related("line", "workspace", "lead")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # Every column is state written by services and workers: none is editable here.
        return [name for _, options in self.fieldsets for name in options["fields"]]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # messages are created by message_create (API or the Unibox reply box)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the timeline is an audit trail

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Never: a save would write a stale copy of `status` back, past the state machine."""

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Nothing to save: inlines are read-only."""

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra_context = {**(extra_context or {}), "show_save": False, "show_save_and_continue": False,
                         "show_save_and_add_another": False, "show_delete": False}
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="status", ordering="status")
    def status_display(self, obj: Message) -> str:
        return status_badge(obj.status)

    @admin.display(description="type", ordering="message_type")
    def kind(self, obj: Message) -> str:
        arrow = "→" if obj.direction == Direction.OUTBOUND else "←"
        return f"{arrow}\u00a0{TYPE_LABELS.get(obj.message_type, obj.message_type)}"

    @admin.display(description="message type")
    def type_label(self, obj: Message) -> str:
        return TYPE_LABELS.get(obj.message_type, obj.message_type)

    @admin.display(description="recipient", ordering="send_to_address")
    def recipient(self, obj: Message) -> str:
        if obj.recipient_name:
            return format_html("{} <span class=\"quiet\">{}</span>", obj.recipient_name, obj.send_to_address)
        return obj.send_to_address or obj.recipient_phone or obj.recipient_email

    @admin.display(description="text sent")
    def sent_text(self, obj: Message) -> str:
        shown = shown_text(obj)
        if shown.at_send or obj.direction != Direction.OUTBOUND:
            return shown.text or "—"
        return format_html('{} <span class="quiet">(not rendered by a send yet: as it renders now)</span>',
                           shown.text or "—")

    @admin.display(description="template (as submitted)")
    def template_text(self, obj: Message) -> str:
        return obj.body or "—"

    @admin.display(description="why / when")
    def explanation(self, obj: Message) -> str:
        return explanation_display(obj)  # relative and local time; the API's statusExplanation keeps ISO

    @admin.display(description="failure")
    def failure(self, obj: Message) -> str:
        return failure_text(obj) or "—"

    @admin.display(description="thread")
    def thread_link(self, obj: Message) -> str:
        if not obj.thread_id:
            return "—"
        return format_html('<a href="{}">Open in Unibox</a>', reverse("admin:unibox_thread", args=[obj.thread_id]))

    @admin.display(description="attachments")
    def attachments(self, obj: Message) -> str:
        items = attachments_of(obj)
        if not items:
            return "—"
        return format_html_join(format_html("<br>"), '<a href="{}" rel="noreferrer" target="_blank">{}</a>',
                                ((a.url or "#", a.name) for a in items))

    def _each(self, queryset: QuerySet[Message], call: Any) -> tuple[int, int]:
        """Run a state-machine service per row; (rows it moved, rows it refused)."""
        changed = refused = 0
        rows = list(queryset.values_list("pk", "workspace_id"))
        workspaces = Workspace.objects.in_bulk({workspace_id for _, workspace_id in rows})
        for message_id, workspace_id in rows:
            try:
                call(workspace=workspaces[workspace_id], message_id=message_id)
            except ApiError:
                refused += 1
            else:
                changed += 1
        return changed, refused

    @admin.action(description="Cancel selected messages (only queued, pending or scheduled ones)",
                  permissions=["change"])
    def cancel_messages(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        changed, refused = self._each(queryset, partial(message_cancel, reason="admin"))
        self.message_user(request, f"{_plural(changed, 'message')} cancelled.", messages.SUCCESS)
        if refused:
            self.message_user(request, f"{_plural(refused, 'message')} left as is: already sent, finished "
                                       "or cancelled.", messages.WARNING)

    @admin.action(description="Retry selected failed messages", permissions=["change"])
    def retry_failed_messages(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        changed, refused = self._each(queryset, partial(message_retry, reason="admin"))
        self.message_user(request, f"{_plural(changed, 'message')} queued for retry.", messages.SUCCESS)
        if refused:
            self.message_user(request, f"{_plural(refused, 'message')} left as is: only failed messages "
                                       "can be retried.", messages.WARNING)


    @admin.action(description="Export selected messages (CSV)", permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Message]) -> HttpResponse:
        return self._export(request, queryset, CSV)

    @admin.action(description="Export selected messages (NDJSON)", permissions=["view"])
    def export_ndjson(self, request: HttpRequest, queryset: QuerySet[Message]) -> HttpResponse:
        return self._export(request, queryset, NDJSON)

    def _export(self, request: HttpRequest, queryset: QuerySet[Message], fmt: str) -> HttpResponse:
        # The same streamed download as GET /api/messages/export: the selected rows, or with "select all"
        # every row of the filtered (and workspace-scoped) changelist, read in keyset batches.
        return export_response(queryset, fmt, name="messages", via="admin", userId=request.user.pk)


# ---------------------------------------------------------------------------
# Threads (and the Unibox)
# ---------------------------------------------------------------------------


@admin.register(Thread)
class ThreadAdmin(WorkspaceScopedAdmin):
    list_display = ("address", "lead", "line", "last_message_at", "last_direction", "unread_count", "workspace",
                    "unibox_link")
    list_select_related = ("lead", "line", "workspace")
    list_filter = (LineListFilter, WorkspaceListFilter)
    search_fields = ("address", "lead__first_name", "lead__last_name", "=id")
    show_full_result_count = False
    paginator = CappedCountPaginator
    ordering = (F("last_message_at").desc(nulls_last=True),)
    raw_id_fields = ("line",)
    fields = ("id", "workspace", "address", "lead", "line", "last_message_at", "last_message_preview",
              "last_direction", "unread_count", "created_at", "unibox_link")
    readonly_fields = ("id", "workspace", "address", "lead", "last_message_at", "last_message_preview",
                       "last_direction", "unread_count", "created_at", "unibox_link")

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("unibox/", wrap(partial(unibox_views.thread_list_view, model_admin=self)), name="unibox_threads"),
            path("unibox/<str:thread_id>/", wrap(partial(unibox_views.thread_detail_view, model_admin=self)),
                 name="unibox_thread"),
            *super().get_urls(),
        ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # threads appear with their first message

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        # Only the sticky line is editable; activity columns belong to thread_touch.
        if change and "line" in form.changed_data and obj.line_id:
            thread_set_line(thread_id=obj.pk, line_id=obj.line_id)

    @admin.display(description="Unibox")
    def unibox_link(self, obj: Thread) -> str:
        return format_html('<a href="{}">Open</a>', reverse("admin:unibox_thread", args=[obj.pk]))


# ---------------------------------------------------------------------------
# Engine rows (read-only)
# ---------------------------------------------------------------------------


@admin.register(SendAttempt)
class SendAttemptAdmin(ReadOnlyAdminMixin, WorkspaceScopedAdmin):
    workspace_path = "message__workspace"
    list_display = ("message", "number", "channel", "line", "outcome", "response_code", "error_class",
                    "started_at", "duration_ms")
    list_select_related = ("message", "line")
    list_filter = ("outcome", "channel", "error_class", WorkspaceListFilter)
    search_fields = ("=message__id", "=temp_guid", "=external_id")
    show_full_result_count = False
    paginator = CappedCountPaginator
    ordering = ("-id",)


@admin.register(MessageEvent)
class MessageEventAdmin(ReadOnlyAdminMixin, WorkspaceScopedAdmin):
    workspace_path = "message__workspace"
    list_display = ("message", "at", "from_status", "to_status", "reason")
    list_select_related = ("message",)
    list_filter = ("to_status", WorkspaceListFilter)
    search_fields = ("=message__id", "reason")
    show_full_result_count = False
    paginator = CappedCountPaginator
    ordering = ("-id",)


@admin.register(DedupGuard)
class DedupGuardAdmin(ReadOnlyAdminMixin, WorkspaceScopedAdmin):
    list_display = ("fingerprint", "message_id", "workspace", "created_at", "expires_at")
    list_select_related = ("workspace",)
    search_fields = ("=message_id", "=fingerprint")
    show_full_result_count = False
    paginator = CappedCountPaginator
    ordering = ("-created_at",)
