"""OpenAPI descriptions of the leads, lists and DNC APIs (documentation only; see tuco.schema_fields).

Request validation lives in leads/lead_fields.py, leads/importing.py, leads/csv_import.py, leads/services.py and
leads/dnc.py; these serializers only describe the wire format. Limits stated here (maxLength, maxItems,
patterns) match the parsers, so a body that breaks them is a 400.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from tuco.schema_fields import Error, ndt, nstr

__all__ = ["Error"]

OBJECT_ID = r"^[0-9a-f]{24}$"


def _text(max_length: int, **kw: object) -> serializers.CharField:
    return serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=max_length,
                                 trim_whitespace=False, **kw)


@extend_schema_field({"type": "object", "additionalProperties": True, "maxProperties": 100, "nullable": True,
                      "description": "Free-form fields, e.g. {\"industry\": \"Technology\"} (at most 100 keys, "
                                     "16 KB as JSON)."})
class CustomFieldsInput(serializers.DictField):
    pass


class LeadInput(serializers.Serializer):
    firstName = _text(200)
    lastName = _text(200)
    email = _text(254, help_text="Lowercased and validated; invalid → the row is skipped and reported.")
    phone = _text(64, help_text="E.164 (+12025551234) or national with defaultCountryCode; normalized to E.164.")
    altPhone1 = _text(64)
    altPhone2 = _text(64)
    altPhone3 = _text(64)
    altEmail1 = _text(254)
    altEmail2 = _text(254)
    altEmail3 = _text(254)
    companyName = _text(200)
    jobTitle = _text(200)
    notes = _text(10_000)
    ghlContactId = _text(100, help_text="CRM link, echoed by sends to this lead.")
    ghlLocationId = _text(100)
    hsPortalId = _text(100)
    hsContactId = _text(100)
    tags = serializers.ListField(child=serializers.CharField(max_length=100), required=False, max_length=50,
                                 help_text="Labels (or one comma-separated string); campaign stop conditions use them.")
    customFields = CustomFieldsInput(required=False)


class CreateLeadsInput(serializers.Serializer):
    leads = serializers.ListField(child=LeadInput(), required=False, min_length=1, max_length=1000,
                                  help_text="One or more leads (at most 1000). Send one of leads, body or lead.")
    body = serializers.ListField(child=LeadInput(), required=False, min_length=1, max_length=1000,
                                 help_text="Alias for leads.")
    lead = LeadInput(required=False, help_text="A single lead (or send its fields at the top level).")
    listId = serializers.RegexField(OBJECT_ID, required=False, allow_null=True,
                                    help_text="Target list; omit (and omit listName) for \"Quick Sends\".")
    listName = _text(200, help_text="Target list by name; created on first use.")
    source = _text(50, help_text="Default \"api\".")
    defaultCountryCode = _text(8, help_text="For phones without a country code; default +1.")
    ghlLocationId = _text(100, help_text="With top-level lead fields: that lead's GHL location (stored).")


class LeadDocument(serializers.Serializer):
    _id = serializers.CharField()
    firstName = nstr()
    lastName = nstr()
    email = nstr()
    phone = nstr()
    altPhone1 = nstr()
    altPhone2 = nstr()
    altPhone3 = nstr()
    altEmail1 = nstr()
    altEmail2 = nstr()
    altEmail3 = nstr()
    companyName = nstr()
    jobTitle = nstr()
    notes = nstr()
    ghlContactId = nstr()
    ghlLocationId = nstr()
    hsPortalId = nstr()
    hsContactId = nstr()
    customFields = serializers.DictField()
    tags = serializers.ListField(child=serializers.CharField())
    listId = nstr()
    workspaceId = serializers.CharField()
    source = nstr()
    availabilityStatus = serializers.ChoiceField(choices=["unknown", "available", "unavailable", "error"])
    availabilityCheckedAt = ndt()
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()


class ExistingLeadSummary(serializers.Serializer):
    _id = serializers.CharField()
    firstName = nstr()
    lastName = nstr()
    email = nstr()
    phone = nstr()


class DuplicateDoc(serializers.Serializer):
    input = serializers.DictField(help_text="The lead as sent.")
    existingLead = ExistingLeadSummary()


class RowErrorDoc(serializers.Serializer):
    index = serializers.IntegerField(help_text="0-based position in leads")
    error = serializers.CharField()


# What POST /api/leads and the CSV import both answer about the rows they saved (no docstring: it would
# become the description of both schema components).
class SaveSummary(serializers.Serializer):
    message = serializers.CharField()
    savedCount = serializers.IntegerField()
    duplicateCount = serializers.IntegerField()
    invalidCount = serializers.IntegerField()
    totalProcessed = serializers.IntegerField()
    listId = serializers.CharField()


class CreateLeadsResponse(SaveSummary):
    leadId = nstr(help_text="The first of leadIds")
    leadIds = serializers.ListField(child=serializers.CharField(),
                                    help_text="New or existing lead id per valid input, in input order")
    existingLeadIds = serializers.ListField(child=serializers.CharField())
    duplicateOnly = serializers.BooleanField(help_text="Nothing new was saved: every valid lead was a duplicate")
    duplicates = DuplicateDoc(many=True)
    errors = RowErrorDoc(many=True, help_text="Skipped rows")


class ListDocument(serializers.Serializer):
    _id = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    workspaceId = serializers.CharField()
    leadCount = serializers.IntegerField()
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()


class PaginationDoc(serializers.Serializer):
    page = serializers.IntegerField()
    limit = serializers.IntegerField()
    totalCount = serializers.IntegerField()
    totalPages = serializers.IntegerField()


class LeadSearchResponse(serializers.Serializer):
    leads = LeadDocument(many=True)
    lists = ListDocument(many=True)
    pagination = PaginationDoc()


class LeadResponse(serializers.Serializer):
    lead = LeadDocument()
    ignoredFields = serializers.ListField(child=serializers.CharField(), required=False,
                                          help_text="PATCH only: unknown fields of the request, ignored")


LeadsGetResponse = PolymorphicProxySerializer(
    component_name="LeadsGetResponse", serializers=[LeadSearchResponse, LeadResponse],
    resource_type_field_name=None, many=False)


class LeadPatchInput(LeadInput):
    listId = serializers.RegexField(OBJECT_ID, required=False, help_text="Move the lead to another list.")
    defaultCountryCode = _text(8, help_text="For phones without a country code; default +1.")


class DeleteLeadsInput(serializers.Serializer):
    ids = serializers.ListField(child=serializers.RegexField(OBJECT_ID), min_length=1, max_length=1000)


class DeletedResponse(serializers.Serializer):
    deletedCount = serializers.IntegerField()


class ListsResponse(serializers.Serializer):
    lists = ListDocument(many=True)


class ListCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=200, trim_whitespace=False)
    description = _text(500)


class ListResponse(serializers.Serializer):
    list = ListDocument()


class ImportInput(serializers.Serializer):
    file = serializers.FileField(help_text="CSV, at most 10 MB. UTF-8 (with or without BOM), UTF-16 or "
                                           "Windows-1252; comma, semicolon, tab or pipe separated.")
    listId = serializers.RegexField(OBJECT_ID, required=False)
    listName = serializers.CharField(required=False, max_length=200, allow_blank=True, trim_whitespace=False)
    defaultCountryCode = serializers.CharField(required=False, max_length=8, allow_blank=True)
    source = serializers.CharField(required=False, max_length=50, allow_blank=True, trim_whitespace=False)


class ImportRowErrorDoc(serializers.Serializer):
    row = serializers.IntegerField(help_text="Spreadsheet row number (the header is row 1)")
    error = serializers.CharField()


class ImportResponse(SaveSummary):
    listName = serializers.CharField()
    errors = ImportRowErrorDoc(many=True, help_text="Skipped rows (the first 1000)")
    errorsTruncated = serializers.BooleanField()


class DncEntryDoc(serializers.Serializer):
    _id = serializers.CharField()
    address = serializers.CharField(help_text="E.164 phone or lowercased email")
    phone = nstr()
    email = nstr()
    reason = serializers.CharField(allow_blank=True)
    sourceMessageId = nstr(help_text="The inbound reply that opted out, if any")
    workspaceId = serializers.CharField()
    createdAt = serializers.DateTimeField()


class DncListResponse(serializers.Serializer):
    entries = DncEntryDoc(many=True)
    pagination = PaginationDoc()


class DncCreateInput(serializers.Serializer):
    phone = _text(254, help_text="e.g. (904) 295-6129 → +19042956129")
    email = _text(254)
    address = _text(254, help_text="A phone or an email; send exactly one of phone, email, address.")
    reason = _text(100, help_text="Default \"manual\".")
    defaultCountryCode = _text(8, help_text="For phones without a country code; default +1.")


class DncEntryResponse(serializers.Serializer):
    entry = DncEntryDoc()
    created = serializers.BooleanField()


PAGE_PARAMETERS = [
    OpenApiParameter("page", {"type": "integer", "minimum": 1, "maximum": 1_000_000}, description="Default 1"),
    OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": 100}, description="Default 50"),
]
LEAD_SEARCH_PARAMETERS = [
    OpenApiParameter("id", str, description="One lead: the answer is then {\"lead\": …} (404 when unknown)"),
    OpenApiParameter("search", {"type": "string", "maxLength": 200},
                     description="Case-insensitive match on firstName, lastName, email, phone, companyName"),
    OpenApiParameter("listId", {"type": "string", "pattern": OBJECT_ID}, description="Only this list's leads"),
    *PAGE_PARAMETERS,
]
DNC_SEARCH_PARAMETERS = [
    OpenApiParameter("search", {"type": "string", "maxLength": 200},
                     description="Substring of the address (digits match phones in any format) or reason"),
    *PAGE_PARAMETERS,
]
DELETE_LEADS_PARAMETERS = [
    OpenApiParameter("id", {"type": "string", "pattern": OBJECT_ID}, description="One lead id (instead of a body)"),
    OpenApiParameter("ids", {"type": "string", "pattern": r"^[0-9a-f]{24}(,[0-9a-f]{24})*$"},
                     description="Comma-separated lead ids (instead of a body)"),
]
DNC_DELETE_PARAMETERS = [
    OpenApiParameter("id", {"type": "string", "pattern": OBJECT_ID}, required=True, description="The entry's _id"),
]
WRITE_ERRORS = {400: Error, 401: Error, 402: Error}
BODY_WRITE_ERRORS = {**WRITE_ERRORS, 415: Error}
