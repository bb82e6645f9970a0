"""Operator admin for outgoing webhooks: endpoint health, the outbox with replay, the delivery log.

Actions call the same services as the API (same guards) and report how many
rows actually changed.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from tuco.admin import (
    CappedCountPaginator,
    ReadOnlyAdminMixin,
    ReadOnlyInline,
    WorkspaceConsistentForm,
    WorkspaceListFilter,
    WorkspaceScopedAdmin,
    secret_state,
)
from tuco.errors import BadRequest
from webhooks.models import EVENT_TYPES, WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.services import (
    MAX_ENDPOINTS_PER_WORKSPACE,
    EndpointChanges,
    event_replay,
    validate_events,
    validate_url,
    webhook_activate,
    webhook_create,
    webhook_pause,
    webhook_update,
)


class WebhookEndpointForm(WorkspaceConsistentForm):
    events = forms.MultipleChoiceField(choices=[(e, e) for e in EVENT_TYPES],
                                       widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = WebhookEndpoint
        fields = ["workspace", "name", "description", "url", "events"]

    def _checked(self, check: Any, value: Any) -> Any:
        try:
            return check(value)
        except BadRequest as exc:
            raise forms.ValidationError(exc.error)

    def clean_url(self) -> str:
        return self._checked(validate_url, self.cleaned_data.get("url"))

    def clean_events(self) -> list[str]:
        return self._checked(validate_events, list(self.cleaned_data.get("events") or []))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        workspace = data.get("workspace")
        if self.instance._state.adding and workspace is not None and (
                WebhookEndpoint.objects.filter(workspace=workspace).count() >= MAX_ENDPOINTS_PER_WORKSPACE):
            self.add_error("workspace", f"This workspace already has {MAX_ENDPOINTS_PER_WORKSPACE} webhooks.")
        return data


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(WorkspaceScopedAdmin):
    """Created through `webhook_create` (the secret is shown once), changed through `webhook_update`."""

    form = WebhookEndpointForm
    list_display = ("name", "workspace", "url", "health", "failure_count", "waiting", "last_success_at",
                    "last_failure_at", "paused_reason", "created_at")
    list_filter = ("is_active", "paused_by", WorkspaceListFilter)
    search_fields = ("=id", "name", "url", "workspace__name")
    list_select_related = ("workspace",)
    readonly_fields = ("id", "secret_display", "is_active", "paused_by", "paused_reason", "paused_at",
                       "failure_count", "last_triggered_at", "last_success_at", "last_failure_at", "created_at",
                       "updated_at")
    actions = ("resume_endpoints", "pause_endpoints")
    ordering = ("-created_at",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookEndpoint]:
        return super().get_queryset(request).annotate(
            waiting_count=Count("outbox", filter=Q(outbox__status__in=WebhookEvent.OPEN)))

    def get_fields(self, request: HttpRequest, obj: WebhookEndpoint | None = None) -> list[str]:
        editable = ["workspace", "name", "description", "url", "events"]
        return editable if obj is None else [*editable, *self.readonly_fields]

    def get_readonly_fields(self, request: HttpRequest, obj: WebhookEndpoint | None = None) -> tuple[str, ...]:
        return () if obj is None else ("workspace", *self.readonly_fields)

    def save_model(self, request: HttpRequest, obj: WebhookEndpoint, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if change:
            changed = set(form.changed_data)
            webhook_update(endpoint=obj, changes=EndpointChanges(
                url=data["url"] if "url" in changed else None,
                events=data["events"] if "events" in changed else None,
                name=data["name"] if "name" in changed else None,
                description=data["description"] if "description" in changed else None))
            return
        created = webhook_create(workspace=data["workspace"], url=data["url"], events=data["events"],
                                 name=data["name"], description=data.get("description") or "")
        # The admin goes on with `obj` (log entry, redirect): make it the created row.
        for field in WebhookEndpoint._meta.concrete_fields:
            setattr(obj, field.attname, getattr(created, field.attname))
        obj._state.adding = False
        obj._state.db = created._state.db
        messages.warning(request, format_html(
            "Copy this signing secret now, it will not be shown again: <code>{}</code>", created.secret))

    @admin.display(description="health", ordering="failure_count")
    def health(self, obj: WebhookEndpoint) -> str:
        if not obj.is_active:
            return format_html('<span class="tuco-badge tuco-badge-muted">paused ({})</span>',
                               obj.paused_by or "user")
        if obj.failure_count:
            return format_html('<span class="tuco-badge tuco-badge-warn">failing ×{}</span>', obj.failure_count)
        return format_html('<span class="tuco-badge tuco-badge-ok">{}</span>', "ok")

    @admin.display(description="waiting events", ordering="waiting_count")
    def waiting(self, obj: WebhookEndpoint) -> int:
        return getattr(obj, "waiting_count", 0)

    @admin.display(description="signing secret")
    def secret_display(self, obj: WebhookEndpoint) -> str:
        return secret_state(obj.secret)

    @admin.action(description="Resume (re-activate) selected endpoints", permissions=["change"])
    def resume_endpoints(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        changed = sum(webhook_activate(endpoint=e) for e in queryset)
        self.message_user(request, f"{changed} endpoint(s) resumed.", messages.SUCCESS)

    @admin.action(description="Pause selected endpoints", permissions=["change"])
    def pause_endpoints(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        changed = sum(webhook_pause(endpoint=e, reason="Paused by an operator") for e in queryset)
        self.message_user(request, f"{changed} endpoint(s) paused.", messages.SUCCESS)


class WebhookDeliveryInline(ReadOnlyInline):
    model = WebhookDelivery
    ordering = ("attempt",)
    fields = ("attempt", "at", "success", "status_code", "latency_ms", "url", "response_snippet", "error")


class HasErrorFilter(admin.SimpleListFilter):
    title = "last try"
    parameter_name = "last_try"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("error", "Error"), ("ok", "No error")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> QuerySet[WebhookEvent]:
        if self.value() == "error":
            return queryset.exclude(last_error="")
        if self.value() == "ok":
            return queryset.filter(last_error="")
        return queryset


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdminMixin, WorkspaceScopedAdmin):
    list_display = ("event_id", "event_type", "endpoint", "message_id", "status", "attempt_count", "last_status_code",
                    "next_attempt_at", "created_at")
    list_filter = ("status", "event_type", HasErrorFilter, "endpoint__is_active", WorkspaceListFilter)
    search_fields = ("=event_id", "=message_id", "endpoint__name", "endpoint__url")
    list_select_related = ("endpoint",)
    show_full_result_count = False
    paginator = CappedCountPaginator
    list_per_page = 100
    ordering = ("-id",)
    inlines = (WebhookDeliveryInline,)
    fields = ("event_id", "workspace", "endpoint", "event_type", "message_id", "status", "attempt_count",
              "round_attempts", "next_attempt_at", "enqueued_at", "delivering_since", "last_status_code",
              "last_error", "delivered_at", "created_at", "pretty_body")
    readonly_fields = fields
    actions = ("replay_events",)

    @admin.display(description="body (as sent)")
    def pretty_body(self, obj: WebhookEvent) -> str:
        return format_html("<pre style='white-space:pre-wrap'>{}</pre>", json.dumps(obj.payload, indent=2))

    def has_replay_permission(self, request: HttpRequest) -> bool:
        # Events are read-only in the admin (has_change_permission is always False); replaying them is
        # allowed to whoever holds the model's change permission, through the service's guard.
        return request.user.has_perm("webhooks.change_webhookevent")

    @admin.action(description="Replay selected events (delivered or dead only)", permissions=["replay"])
    def replay_events(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> None:
        selected = list(queryset)
        changed = sum(event_replay(event=e) for e in selected)
        skipped = len(selected) - changed
        text = f"{changed} event(s) queued for replay."
        if skipped:
            text += f" {skipped} skipped (only delivered or dead events can be replayed)."
        self.message_user(request, text, messages.SUCCESS if changed else messages.WARNING)
