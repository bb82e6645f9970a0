"""Operator admin for platform rows, plus the workspace scoping every Tuco ModelAdmin shares.

Who sees what: superusers see every workspace; other staff users see only the
workspaces they are members of (`WorkspaceMember`). Django's model permissions
still decide *which kinds* of rows a staff user may view or change; membership
decides *whose* rows. The scoping is applied to querysets, foreign-key choices,
list filters and the Unibox views.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.functional import cached_property
from django.utils.html import format_html

from tuco.models import ApiKey, IdempotencyRecord, Workspace, WorkspaceMember
from tuco.services import api_key_create, api_key_revoke

admin.site.site_header = "Tuco operations"
admin.site.site_title = "Tuco admin"
admin.site.index_title = "Operations"

# ---------------------------------------------------------------------------
# Scoping helpers (used by every app's admin and by the Unibox views)
# ---------------------------------------------------------------------------

_CACHE_ATTR = "_tuco_workspace_ids"


def member_workspace_ids(user: Any) -> list[str] | None:
    """Workspace ids the user may see; None means "all" (superuser). Cached on the user for the request."""
    if getattr(user, "is_superuser", False):
        return None
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_staff", False):
        return []
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is None:
        cached = list(WorkspaceMember.objects.filter(user_id=user.pk).values_list("workspace_id", flat=True))
        setattr(user, _CACHE_ATTR, cached)
    return cached


def scope_queryset(qs: QuerySet[Any], user: Any, path: str) -> QuerySet[Any]:
    """Restrict `qs` to rows whose workspace (reached through `path`) the user may see."""
    ids = member_workspace_ids(user)
    if ids is None:
        return qs
    return qs.filter(**{f"{path}__in": ids})


def scoped_workspaces(user: Any) -> QuerySet[Workspace]:
    return scope_queryset(Workspace.objects.all(), user, "pk").order_by("name", "id")


def _workspace_path_of(model: type[models.Model]) -> str | None:
    """How a related model reaches its workspace, for scoping foreign-key choices."""
    if model is Workspace:
        return "pk"
    try:
        model._meta.get_field("workspace")
    except Exception:
        return None
    return "workspace"


class CappedCountPaginator(Paginator):
    """Counts at most CAP rows: an exact COUNT(*) over millions of messages is not worth the wait."""

    CAP = 10_000

    @cached_property
    def count(self) -> int:  # type: ignore[override]
        return self.object_list.order_by()[: self.CAP + 1].count()


class WorkspaceListFilter(admin.SimpleListFilter):
    """Workspace filter listing only the workspaces the user may see (cheap: reads the workspace table)."""

    title = "workspace"
    parameter_name = "workspace"

    def __init__(self, request: HttpRequest, params: Any, model: Any, model_admin: Any) -> None:
        self.workspace_path = getattr(model_admin, "workspace_path", "workspace")
        super().__init__(request, params, model, model_admin)

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(w.pk, w.name) for w in scoped_workspaces(request.user).only("id", "name")[:200]]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value():
            return queryset.filter(**{self.workspace_path: self.value()})
        return queryset


class WorkspaceConsistentForm(forms.ModelForm):
    """Refuses foreign keys that point into another workspace than the row's own."""

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        workspace = data.get("workspace") if "workspace" in self.fields else None
        workspace_id = workspace.pk if workspace is not None else getattr(self.instance, "workspace_id", None)
        if not workspace_id:
            return data
        for name, value in list(data.items()):
            if name == "workspace" or not isinstance(value, models.Model):
                continue
            other = getattr(value, "workspace_id", None)
            if other is not None and other != workspace_id:
                self.add_error(name, "This belongs to another workspace.")
        return data


class ScopedFormfieldMixin:
    """Foreign-key dropdowns (and raw-id / autocomplete validation) only offer visible workspaces' rows."""

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        path = _workspace_path_of(db_field.related_model)
        if path is not None and "queryset" not in kwargs:
            kwargs["queryset"] = scope_queryset(db_field.related_model._default_manager.all(), request.user, path)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]


class WorkspaceScopedAdmin(ScopedFormfieldMixin, admin.ModelAdmin):
    """Base for every Tuco ModelAdmin: workspace scoping and saves that never clobber worker-written columns."""

    workspace_path = "workspace"
    form = WorkspaceConsistentForm

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return scope_queryset(super().get_queryset(request), request.user, self.workspace_path)

    def get_list_display(self, request: HttpRequest) -> Any:
        # "workspace" shows as its name, and only to users who can see more than one workspace.
        ids = member_workspace_ids(request.user)
        many = ids is None or len(ids) > 1
        shown = []
        for item in super().get_list_display(request):
            if item == "workspace":
                if many:
                    shown.append("workspace_name")
                continue
            shown.append(item)
        return shown

    @admin.display(description="workspace", ordering="workspace__name")
    def workspace_name(self, obj: Any) -> str:
        return obj.workspace.name

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # A row never moves to another workspace: its lines, leads and threads would be split across two.
        fields = tuple(super().get_readonly_fields(request, obj))
        if obj is not None and "workspace" not in fields and _workspace_path_of(type(obj)) == "workspace":
            fields += ("workspace",)
        return fields

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        # Workers write columns like health, counters and last_send_at concurrently: a full save would
        # write back the stale copy this form loaded, so only the fields the operator changed are saved.
        if not change:
            obj.save()
            return
        concrete = {f.name for f in obj._meta.concrete_fields if not f.primary_key}
        update_fields = [name for name in form.changed_data if name in concrete]
        update_fields += [name for name in getattr(form, "secret_changes", []) if name not in update_fields]
        if not update_fields:
            return
        if "updated_at" in concrete:
            update_fields.append("updated_at")
        obj.save(update_fields=update_fields)


class ReadOnlyAdminMixin:
    """Rows written only by services/workers: viewable, never added, edited or deleted here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return list(self.fields or [f.name for f in self.model._meta.fields])


def secret_state(value: str) -> str:
    """What an admin page may say about a secret: whether it is set. Never any of its characters."""
    return "set (hidden)" if value else "not set"


def secret_input(label: str) -> forms.CharField:
    """A write-only password input: it never renders the stored value."""
    return forms.CharField(
        label=label, required=False, strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )


class WriteOnlySecretsForm(WorkspaceConsistentForm):
    """A ModelForm whose secret columns stay out of the form, replaced by write-only inputs.

    Subclasses exclude each secret model field `x`, declare `new_x = secret_input(...)` and list
    `SECRET_FIELDS = ("x", ...)`. A blank input keeps the stored value; `secret_changes` names the
    columns the admin must write.
    """

    SECRET_FIELDS: tuple[str, ...] = ()
    REQUIRED_ON_ADD: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.secret_changes: list[str] = []
        for name in self.SECRET_FIELDS:
            field = self.fields.get(f"new_{name}")
            if field is None:
                continue
            adding = self.instance._state.adding
            current = "" if adding else getattr(self.instance, name, "")
            field.help_text = f"Write-only. Currently {secret_state(current)}; leave blank to keep it."
            if adding and name in self.REQUIRED_ON_ADD:
                field.required = True
                field.help_text = "Write-only: it is never shown again."

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for name in self.SECRET_FIELDS:
            value = data.get(f"new_{name}") or ""
            if value:
                setattr(self.instance, name, value)
                self.secret_changes.append(name)
        return data


# ---------------------------------------------------------------------------
# Workspaces, members, API keys, idempotency records
# ---------------------------------------------------------------------------


class WorkspaceMemberInline(ScopedFormfieldMixin, admin.TabularInline):
    model = WorkspaceMember
    extra = 0
    raw_id_fields = ("user",)
    readonly_fields = ("created_at",)
    fields = ("user", "created_at")

    # Membership grants access to a workspace's data, so only superusers manage it.
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_staff


@admin.register(Workspace)
class WorkspaceAdmin(WorkspaceScopedAdmin):
    workspace_path = "pk"
    list_display = ("name", "id", "billing_status", "member_count", "created_at")
    list_filter = ("billing_status",)
    search_fields = ("name", "=id")
    readonly_fields = ("id", "created_at", "updated_at")
    fields = ("id", "name", "billing_status", "rate_limits", "created_at", "updated_at")
    inlines = (WorkspaceMemberInline,)
    ordering = ("name",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).annotate(_members=models.Count("workspacemember", distinct=True))

    @admin.display(description="members", ordering="_members")
    def member_count(self, obj: Workspace) -> int:
        return getattr(obj, "_members", 0)

    # Creating or deleting a workspace (and everything in it) is a superuser decision.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser


@admin.register(WorkspaceMember)
class WorkspaceMemberAdmin(WorkspaceScopedAdmin):
    list_display = ("user", "workspace", "created_at")
    list_select_related = ("user", "workspace")
    list_filter = (WorkspaceListFilter,)
    search_fields = ("user__username", "user__email", "workspace__name")
    raw_id_fields = ("user",)
    readonly_fields = ("created_at",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser


class ApiKeyStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("active", "Active"), ("revoked", "Revoked")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


class ApiKeyAddForm(WorkspaceConsistentForm):
    class Meta:
        model = ApiKey
        fields = ("workspace", "name")


class ApiKeyChangeForm(WorkspaceConsistentForm):
    class Meta:
        model = ApiKey
        fields = ("name",)


@admin.register(ApiKey)
class ApiKeyAdmin(WorkspaceScopedAdmin):
    """Keys are made by `api_key_create` (the raw key is shown once); only the hash is stored, never shown."""

    list_display = ("name", "prefix_display", "workspace", "created_at", "last_used_at", "state_badge")
    list_select_related = ("workspace",)
    list_filter = (ApiKeyStateFilter, WorkspaceListFilter)
    search_fields = ("name", "prefix", "=id", "workspace__name")
    readonly_fields = ("id", "workspace", "prefix_display", "created_at", "last_used_at", "revoked_at")
    actions = ("revoke_keys",)
    ordering = ("-created_at",)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        kwargs["form"] = ApiKeyChangeForm if obj is not None else ApiKeyAddForm
        kwargs["fields"] = None
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return ["workspace", "name"]
        return ["id", "name", "workspace", "prefix_display", "created_at", "last_used_at", "revoked_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return self.readonly_fields if obj is not None else ()

    @admin.display(description="key", ordering="prefix")
    def prefix_display(self, obj: ApiKey) -> str:
        return f"{obj.prefix}…"

    @admin.display(description="state", ordering="revoked_at")
    def state_badge(self, obj: ApiKey) -> str:
        if obj.revoked_at is None:
            return format_html('<span class="tuco-badge tuco-badge-ok">{}</span>', "active")
        return format_html('<span class="tuco-badge tuco-badge-muted">{}</span>', "revoked")

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        created, raw_key = api_key_create(workspace=form.cleaned_data["workspace"], name=form.cleaned_data["name"])
        # The admin goes on with `obj` (log entry, redirect): make it the created row.
        for field in ApiKey._meta.concrete_fields:
            setattr(obj, field.attname, getattr(created, field.attname))
        obj._state.adding = False
        obj._state.db = created._state.db
        messages.warning(request, format_html(
            "Copy this API key now, it will not be shown again: <code class=\"tuco-raw-key\">{}</code>", raw_key))

    @admin.action(description="Revoke selected API keys", permissions=["change"])
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        revoked = sum(1 for key in queryset if api_key_revoke(api_key=key))
        self.message_user(request, f"{revoked} API key{'' if revoked == 1 else 's'} revoked.", messages.SUCCESS)


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdminMixin, WorkspaceScopedAdmin):
    list_display = ("key", "workspace", "completed", "response_status", "created_at")
    list_select_related = ("workspace",)
    list_filter = ("completed", WorkspaceListFilter)
    search_fields = ("=key",)
    fields = ("workspace", "key", "request_fingerprint", "completed", "response_status",
              "response_content_type", "response_size", "created_at")
    readonly_fields = fields
    show_full_result_count = False
    paginator = CappedCountPaginator
    ordering = ("-created_at",)

    @admin.display(description="response size")
    def response_size(self, obj: IdempotencyRecord) -> str:
        # The stored body is replayed to the integrator; here its size is enough.
        return f"{len(obj.response_body or b'')} bytes"
