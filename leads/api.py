"""Leads, lists and do-not-contact API. Thin: parse → service → document."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ParseError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from leads import schemas
from leads.csv_import import csv_import
from leads.dnc import DNC_NOT_FOUND, dnc_entry_add, dnc_remove, parse_dnc_input
from leads.importing import CreateResult, leads_create, parse_create_payload, parse_list_ref
from leads.lead_fields import MAX_CSV_BYTES, parse_source, phone_region
from leads.models import DncEntry
from leads.saving import existing_summary
from leads.selectors import (
    dnc_document,
    dnc_search,
    lead_document,
    lead_for_api,
    lead_search,
    list_document_for,
    lists_with_counts,
)
from leads.services import (
    lead_list_create,
    lead_update,
    leads_delete,
    parse_delete_ids,
    parse_lead_patch,
    parse_list_input,
)
from tuco.auth import workspace_of
from tuco.errors import BadRequest, NotFound
from tuco.ids import is_object_id

Error = schemas.Error
# Multipart framing around a 10 MB file is small; anything far beyond is refused before it is parsed.
_MAX_UPLOAD_BODY = MAX_CSV_BYTES + 1024 * 1024
# Named like the URL kwargs so they replace the generated ones (the lead route's regex is not for clients).
_LEAD_ID = [OpenApiParameter("lead_id", str, OpenApiParameter.PATH, description="The lead's _id (24-hex)")]
_ENTRY_ID = [OpenApiParameter("entry_id", str, OpenApiParameter.PATH, description="The entry's _id (24-hex)")]


def _create_response(result: CreateResult) -> tuple[dict[str, Any], int]:
    outcomes = sorted(result.outcomes, key=lambda o: o.position)
    duplicates = [o for o in outcomes if not o.created]
    saved = result.saved_count
    lead_ids = [o.lead_id for o in outcomes]
    if saved:
        message = "Leads saved successfully"
    elif len(duplicates) == 1:
        message = "Lead was a duplicate; existing lead ID returned."
    else:
        message = "All leads were duplicates; existing lead IDs returned."
    body = {
        "message": message,
        "savedCount": saved,
        "duplicateCount": len(duplicates),
        "invalidCount": len(result.errors),
        "totalProcessed": result.total,
        "listId": result.lead_list.pk,
        "leadId": lead_ids[0] if lead_ids else None,
        "leadIds": lead_ids,
        "existingLeadIds": [o.lead_id for o in duplicates],
        "duplicateOnly": saved == 0 and bool(duplicates),
        "duplicates": [{"input": o.row.input, "existingLead": existing_summary(o.existing)}
                       for o in duplicates if o.existing is not None],
        "errors": result.errors,
    }
    return body, 201 if saved else 200


class LeadsApi(APIView):
    @extend_schema(
        operation_id="leads_create", request=schemas.CreateLeadsInput,
        responses={201: schemas.CreateLeadsResponse, 200: schemas.CreateLeadsResponse, **schemas.BODY_WRITE_ERRORS,
                   404: Error},
        summary="Create or import leads (one or up to 1000)",
        description=(
            "Send `leads` (array; `body` is an alias), `lead` (one object), or one lead's fields at the top level. "
            "Leads go into `listId`, or `listName` (created on first use), else \"Quick Sends\". Within a list, "
            "a lead whose phone or email is already there is a duplicate: it is not saved and its existing id "
            "is returned. Rows with an invalid phone/email or no phone and no email are skipped and listed in "
            "`errors`. 201 when at least one lead was saved, 200 when none was new; 400 (nothing written) when "
            "the request is malformed or no row is valid."))
    def post(self, request: Request) -> Response:
        workspace = workspace_of(request)
        payload = parse_create_payload(request.data)
        body, status = _create_response(leads_create(workspace=workspace, payload=payload))
        return Response(body, status=status)

    @extend_schema(operation_id="leads_get", parameters=schemas.LEAD_SEARCH_PARAMETERS,
                   responses={200: schemas.LeadsGetResponse, 400: Error, 401: Error, 404: Error},
                   summary="Search leads, or get one with ?id=")
    def get(self, request: Request) -> Response:
        workspace = workspace_of(request)
        lead_id = request.query_params.get("id")
        if lead_id is not None:
            return Response({"lead": lead_document(lead_for_api(workspace=workspace, lead_id=lead_id))})
        page = lead_search(workspace=workspace, params=request.query_params)
        return Response({"leads": [lead_document(lead) for lead in page.items],
                         "lists": lists_with_counts(workspace=workspace), "pagination": page.pagination()})

    @extend_schema(operation_id="leads_delete", request=schemas.DeleteLeadsInput,
                   parameters=schemas.DELETE_LEADS_PARAMETERS,
                   responses={200: schemas.DeletedResponse, **schemas.BODY_WRITE_ERRORS},
                   summary="Delete leads by id",
                   description="Body `{\"ids\": [\"…\", …]}` (at most 1000), or `?id=` / `?ids=a,b`. Ids of other "
                               "workspaces and unknown ids are ignored and not counted; a malformed id → 400 and "
                               "nothing is deleted.")
    def delete(self, request: Request) -> Response:
        ids = parse_delete_ids(request.data, request.query_params)
        return Response({"deletedCount": leads_delete(workspace=workspace_of(request), ids=ids)})


class LeadDetailApi(APIView):
    @extend_schema(operation_id="leads_retrieve", parameters=_LEAD_ID,
                   responses={200: schemas.LeadResponse, 401: Error, 404: Error}, summary="Get one lead")
    def get(self, request: Request, lead_id: str) -> Response:
        return Response({"lead": lead_document(lead_for_api(workspace=workspace_of(request), lead_id=lead_id))})

    @extend_schema(operation_id="leads_update", parameters=_LEAD_ID, request=schemas.LeadPatchInput,
                   responses={200: schemas.LeadResponse, **schemas.BODY_WRITE_ERRORS, 404: Error, 409: Error},
                   summary="Update a lead",
                   description=(
                       "Send only the fields to change; `null` or \"\" clears one. `customFields` is merged key by "
                       "key (a null value removes that key; `customFields: null` clears them all). Phones are "
                       "normalized to E.164. A phone or email another lead of the same list already has → 409 "
                       "DUPLICATE_LEAD with existingLeadId. Unknown fields are ignored and listed in "
                       "`ignoredFields`."))
    def patch(self, request: Request, lead_id: str) -> Response:
        workspace = workspace_of(request)
        lead_for_api(workspace=workspace, lead_id=lead_id)  # an unknown id is a 404 before any 400
        patch = parse_lead_patch(request.data)
        body: dict = {"lead": lead_document(lead_update(workspace=workspace, lead_id=lead_id, patch=patch))}
        if patch.ignored:
            body["ignoredFields"] = patch.ignored
        return Response(body)

    @extend_schema(operation_id="leads_destroy", parameters=_LEAD_ID, request=None,
                   responses={200: schemas.DeletedResponse, 401: Error, 402: Error, 404: Error},
                   summary="Delete one lead")
    def delete(self, request: Request, lead_id: str) -> Response:
        workspace = workspace_of(request)
        lead = lead_for_api(workspace=workspace, lead_id=lead_id)
        count = leads_delete(workspace=workspace, ids=[lead.pk])
        if not count:
            raise NotFound("Lead not found")
        return Response({"deletedCount": count})


class LeadImportApi(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        operation_id="leads_import", request={"multipart/form-data": schemas.ImportInput},
        responses={201: schemas.ImportResponse, 200: schemas.ImportResponse, **schemas.BODY_WRITE_ERRORS,
                   404: Error},
        summary="Import leads from a CSV file (at most 10 MB)",
        description=(
            "Columns are matched by name, flexibly (\"First Name\", \"first_name\", \"firstName\"): first/last "
            "name, email, phone, alt phones/emails 1-3, company, job title/position, notes; any other column "
            "is stored in customFields. Rows with an invalid phone/email or no contact are skipped and reported "
            "by spreadsheet row. A file that cannot be read or has no valid row → 400, nothing written."))
    def post(self, request: Request) -> Response:
        workspace = workspace_of(request)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > _MAX_UPLOAD_BODY:
            raise BadRequest("File too large: the maximum is 10 MB", code="FILE_TOO_LARGE")
        try:
            data, files = request.data, request.FILES
        except ParseError as exc:
            raise BadRequest(f"Invalid multipart body: {exc.detail}", code="INVALID_BODY")
        upload = files.get("file") or (next(iter(files.values())) if len(files) == 1 else None)
        if upload is None:
            raise BadRequest("file is required (multipart field \"file\")", code="VALIDATION_ERROR")
        if upload.size > MAX_CSV_BYTES:
            raise BadRequest("File too large: the maximum is 10 MB", code="FILE_TOO_LARGE")
        list_id, list_name = parse_list_ref(data.get("listId"), data.get("listName"))
        result = csv_import(workspace=workspace, file=upload.file, list_id=list_id, list_name=list_name,
                            region=phone_region(data.get("defaultCountryCode")),
                            source=parse_source(data.get("source"), "csv"))
        assert result.lead_list is not None
        return Response({
            "message": f"Imported {result.saved} leads ({result.duplicates} duplicates, "
                       f"{result.invalid} invalid rows skipped)",
            "savedCount": result.saved, "duplicateCount": result.duplicates, "invalidCount": result.invalid,
            "totalProcessed": result.total, "listId": result.lead_list.pk, "listName": result.lead_list.name,
            "errors": result.errors, "errorsTruncated": result.errors_truncated,
        }, status=201 if result.saved else 200)


class ListsApi(APIView):
    @extend_schema(operation_id="lists_list", responses={200: schemas.ListsResponse, 401: Error},
                   summary="All lead lists with their lead counts")
    def get(self, request: Request) -> Response:
        return Response({"lists": lists_with_counts(workspace=workspace_of(request))})

    @extend_schema(operation_id="lists_create", request=schemas.ListCreateInput,
                   responses={201: schemas.ListResponse, **schemas.BODY_WRITE_ERRORS, 409: Error},
                   summary="Create a lead list",
                   description="A name already used in the workspace → 409 LIST_EXISTS with the existing listId.")
    def post(self, request: Request) -> Response:
        name, description = parse_list_input(request.data)
        lead_list = lead_list_create(workspace=workspace_of(request), name=name, description=description)
        return Response({"list": list_document_for(lead_list)}, status=201)


def _dnc_entry(request: Request, entry_id: str) -> DncEntry:
    entry = (DncEntry.objects.filter(workspace=workspace_of(request), pk=entry_id).first()
             if is_object_id(entry_id) else None)
    if entry is None:
        raise NotFound(DNC_NOT_FOUND)
    return entry


class DncApi(APIView):
    @extend_schema(operation_id="dnc_list", parameters=schemas.DNC_SEARCH_PARAMETERS,
                   responses={200: schemas.DncListResponse, 400: Error, 401: Error},
                   summary="Do-not-contact entries, newest first")
    def get(self, request: Request) -> Response:
        page = dnc_search(workspace=workspace_of(request), params=request.query_params)
        return Response({"entries": [dnc_document(e) for e in page.items], "pagination": page.pagination()})

    @extend_schema(operation_id="dnc_create", request=schemas.DncCreateInput,
                   responses={201: schemas.DncEntryResponse, 200: schemas.DncEntryResponse,
                              **schemas.BODY_WRITE_ERRORS},
                   summary="Add a phone or email to the do-not-contact list",
                   description="Phones are stored as E.164 (\"(904) 295-6129\" → +19042956129). An address already "
                               "on the list → 200 with the existing entry.")
    def post(self, request: Request) -> Response:
        address, reason = parse_dnc_input(request.data)
        entry, created = dnc_entry_add(workspace=workspace_of(request), address=address, reason=reason)
        return Response({"entry": dnc_document(entry), "created": created}, status=201 if created else 200)

    @extend_schema(operation_id="dnc_delete", request=None,
                   parameters=schemas.DNC_DELETE_PARAMETERS,
                   responses={200: schemas.DeletedResponse, **schemas.WRITE_ERRORS, 404: Error},
                   summary="Remove a do-not-contact entry (?id=)")
    def delete(self, request: Request) -> Response:
        entry_id = request.query_params.get("id")
        if not entry_id:
            raise BadRequest("id is required", code="VALIDATION_ERROR")
        dnc_remove(workspace=workspace_of(request), entry_id=entry_id)
        return Response({"deletedCount": 1})


class DncDetailApi(APIView):
    @extend_schema(operation_id="dnc_retrieve", parameters=_ENTRY_ID,
                   responses={200: schemas.DncEntryResponse, 401: Error, 404: Error},
                   summary="One do-not-contact entry")
    def get(self, request: Request, entry_id: str) -> Response:
        return Response({"entry": dnc_document(_dnc_entry(request, entry_id)), "created": False})

    @extend_schema(operation_id="dnc_destroy", parameters=_ENTRY_ID, request=None,
                   responses={200: schemas.DeletedResponse, 401: Error, 402: Error, 404: Error},
                   summary="Remove a do-not-contact entry")
    def delete(self, request: Request, entry_id: str) -> Response:
        dnc_remove(workspace=workspace_of(request), entry_id=entry_id)
        return Response({"deletedCount": 1})
