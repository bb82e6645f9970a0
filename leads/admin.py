"""Operator admin for leads, lead lists and the do-not-contact list (workspace-scoped)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html_join

from leads.models import ALT_EMAIL_FIELDS, ALT_PHONE_FIELDS, DncEntry, Lead, LeadList
from tuco.addresses import InvalidAddress, normalize_address, normalize_email, normalize_phone
from tuco.admin import CappedCountPaginator, WorkspaceConsistentForm, WorkspaceListFilter, WorkspaceScopedAdmin


class LeadForm(WorkspaceConsistentForm):
    """Stores contacts the way the API does (E.164 phones, lowercased emails) so dedup and threads match."""

    class Meta:
        model = Lead
        fields = "__all__"

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for name in ("phone", *ALT_PHONE_FIELDS):
            if data.get(name):
                try:
                    data[name] = normalize_phone(data[name])
                except InvalidAddress:
                    self.add_error(name, "Enter a phone number in E.164 format, e.g. +12025551234.")
        for name in ("email", *ALT_EMAIL_FIELDS):
            if data.get(name):
                try:
                    data[name] = normalize_email(data[name])
                except InvalidAddress:
                    self.add_error(name, "Enter a valid email address.")
        return data


@admin.register(LeadList)
class LeadListAdmin(WorkspaceScopedAdmin):
    list_display = ("name", "workspace", "lead_count", "created_at")
    list_select_related = ("workspace",)
    list_filter = (WorkspaceListFilter,)
    search_fields = ("name", "=id")
    readonly_fields = ("id", "created_at", "updated_at")
    ordering = ("-created_at",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).annotate(_leads=Count("leads"))

    @admin.display(description="leads", ordering="_leads")
    def lead_count(self, obj: LeadList) -> int:
        return getattr(obj, "_leads", 0)


@admin.register(Lead)
class LeadAdmin(WorkspaceScopedAdmin):
    form = LeadForm
    list_display = ("display_name", "phone", "email", "list", "workspace", "availability_status", "created_at")
    list_select_related = ("workspace", "list")
    list_filter = ("availability_status", "source", WorkspaceListFilter)
    search_fields = ("first_name", "last_name", "^phone", "email", "company_name", "=id")
    autocomplete_fields = ("list",)
    readonly_fields = ("id", "availability_status", "availability_checked_at", "conversations", "created_at",
                       "updated_at")
    fieldsets = (
        (None, {"fields": ("id", "workspace", "list", "first_name", "last_name", "phone", "email",
                           "company_name", "job_title", "notes")}),
        ("Alternate contacts", {"classes": ("collapse",), "fields": (*ALT_PHONE_FIELDS, *ALT_EMAIL_FIELDS)}),
        ("More", {"fields": ("custom_fields", "source", "availability_status", "availability_checked_at",
                             "conversations", "created_at", "updated_at")}),
    )
    show_full_result_count = False
    paginator = CappedCountPaginator
    ordering = ("-created_at",)

    @admin.display(description="name", ordering="first_name")
    def display_name(self, obj: Lead) -> str:
        return obj.full_name or "—"

    @admin.display(description="Unibox threads")
    def conversations(self, obj: Lead) -> str:
        threads = list(obj.threads.order_by("-last_message_at")[:10]) if obj.pk else []
        if not threads:
            return "—"
        return format_html_join(
            ", ", '<a href="{}">{}</a>',
            ((reverse("admin:unibox_thread", args=[t.pk]), t.address) for t in threads),
        )


class DncEntryForm(WorkspaceConsistentForm):
    class Meta:
        model = DncEntry
        fields = ("workspace", "address", "reason")

    def clean_address(self) -> str:
        try:
            return normalize_address(self.cleaned_data["address"])
        except InvalidAddress:
            raise forms.ValidationError("Enter an E.164 phone number (e.g. +12025551234) or an email address.")


@admin.register(DncEntry)
class DncEntryAdmin(WorkspaceScopedAdmin):
    form = DncEntryForm
    list_display = ("address", "reason", "workspace", "source_message_id", "created_at")
    list_select_related = ("workspace",)
    list_filter = ("reason", WorkspaceListFilter)
    search_fields = ("address", "=source_message_id")
    readonly_fields = ("id", "source_message_id", "created_at")
    show_full_result_count = False
    paginator = CappedCountPaginator
    ordering = ("-created_at",)
