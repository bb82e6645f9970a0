from __future__ import annotations

from django.urls import path, register_converter
from django.urls.converters import StringConverter

from leads import api


class LeadRefConverter(StringConverter):
    """Any path segment except the fixed /api/leads/… routes other apps own (lines: check-availability)."""

    regex = r"(?!(?:check-availability|bulk-check-availability|import)$)[^/]+"


register_converter(LeadRefConverter, "leadref")

urlpatterns = [
    path("leads", api.LeadsApi.as_view(), name="leads"),
    path("leads/import", api.LeadImportApi.as_view(), name="leads-import"),
    path("leads/<leadref:lead_id>", api.LeadDetailApi.as_view(), name="lead-detail"),
    path("lists", api.ListsApi.as_view(), name="lists"),
    path("dnc", api.DncApi.as_view(), name="dnc"),
    path("dnc/<str:entry_id>", api.DncDetailApi.as_view(), name="dnc-detail"),
]
