"""Campaigns API. Thin: parse (campaigns.input) → service (campaigns.services) → document (campaigns.selectors)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns import schemas, services
from campaigns.input import parse_add_lead, parse_campaign
from campaigns.models import Campaign
from campaigns.selectors import campaign_document, campaign_list, campaign_recipients, campaign_stats
from leads.models import CRM_FIELDS, Lead
from tuco.auth import workspace_of
from tuco.throttles import RateLimitedMixin

Error = schemas.Error
_ID = [schemas.ID_PARAMETER]
_PAGE = [OpenApiParameter("limit", int, description="1-100 (default 50)"),
         OpenApiParameter("cursor", str, description="nextCursor of the previous page")]
WRITE_ERRORS = {400: Error, 401: Error, 404: Error, 409: Error, 429: Error}


def _campaign(campaign: Campaign) -> Response:
    return Response({"success": True, "campaign": campaign_document(campaign)})


class CampaignsApi(RateLimitedMixin, APIView):
    rate_group = "campaigns"

    @extend_schema(operation_id="campaigns_create", request=schemas.CampaignInput,
                   responses={201: schemas.CampaignResponse, **WRITE_ERRORS}, summary="Create a campaign (draft)",
                   description="A draft with its steps; nothing is sent until it is launched. A step naming an "
                               "unknown variable → 400 UNKNOWN_VARIABLE. 200 requests per minute per workspace.")
    def post(self, request: Request) -> Response:
        workspace = workspace_of(request)
        campaign = services.campaign_create(workspace=workspace, data=parse_campaign(request.data, creating=True))
        return Response({"success": True, "campaign": campaign_document(campaign)}, status=201)

    @extend_schema(operation_id="campaigns_list", responses={200: schemas.CampaignList, 400: Error, 401: Error},
                   parameters=[*_PAGE, OpenApiParameter("status", str, enum=Campaign.Status.values)],
                   summary="List campaigns, newest first")
    def get(self, request: Request) -> Response:
        items, cursor = campaign_list(workspace=workspace_of(request), params=request.query_params)
        return Response({"campaigns": [campaign_document(c) for c in items], "nextCursor": cursor,
                         "hasMore": cursor is not None})


class CampaignDetailApi(RateLimitedMixin, APIView):
    rate_group = "campaigns"
    rate_methods = ("PATCH", "DELETE")

    @extend_schema(operation_id="campaigns_get", parameters=_ID, responses={200: schemas.CampaignResponse,
                                                                           401: Error, 404: Error},
                   summary="Get a campaign")
    def get(self, request: Request, campaign_id: str) -> Response:
        return _campaign(services.campaign_get(workspace=workspace_of(request), campaign_id=campaign_id))

    @extend_schema(operation_id="campaigns_update", parameters=_ID, request=schemas.CampaignInput,
                   responses={200: schemas.CampaignResponse, **WRITE_ERRORS}, summary="Update a campaign",
                   description="Send only what changes. `steps` replaces the sequence: an enrollment that has "
                               "not reached a step yet gets the new text (a step's message is created when it "
                               "comes due). An archived campaign → 409.")
    def patch(self, request: Request, campaign_id: str) -> Response:
        workspace = workspace_of(request)
        services.campaign_get(workspace=workspace, campaign_id=campaign_id)  # 404 before any 400
        data = parse_campaign(request.data, creating=False)
        return _campaign(services.campaign_update(workspace=workspace, campaign_id=campaign_id, data=data))

    @extend_schema(operation_id="campaigns_delete", parameters=_ID, request=None,
                   responses={200: schemas.DeleteResponse, 401: Error, 404: Error},
                   summary="Delete a campaign (archived when it has messages)")
    def delete(self, request: Request, campaign_id: str) -> Response:
        outcome = services.campaign_delete(workspace=workspace_of(request), campaign_id=campaign_id)
        return Response({"success": True, "campaignId": campaign_id, "result": outcome})


_ACTION_RESPONSES = {200: schemas.CampaignResponse, 401: Error, 404: Error, 409: Error, 429: Error}


class CampaignLaunchApi(RateLimitedMixin, APIView):
    rate_group = "campaigns"

    @extend_schema(operation_id="campaigns_launch", parameters=_ID, request=None, responses=_ACTION_RESPONSES,
                   summary="Launch a draft campaign",
                   description="draft → active. The list's leads are enrolled; step 0 goes out as the lines' "
                               "pacing allows.")
    def post(self, request: Request, campaign_id: str) -> Response:
        return _campaign(services.campaign_launch(workspace=workspace_of(request), campaign_id=campaign_id))


class CampaignPauseApi(RateLimitedMixin, APIView):
    rate_group = "campaigns"

    @extend_schema(operation_id="campaigns_pause", parameters=_ID, request=None, responses=_ACTION_RESPONSES,
                   summary="Pause an active campaign",
                   description="active → paused. Its waiting messages are held at once (none is claimed after "
                               "this answer); each lead keeps its place.")
    def post(self, request: Request, campaign_id: str) -> Response:
        return _campaign(services.campaign_pause(workspace=workspace_of(request), campaign_id=campaign_id))


class CampaignResumeApi(RateLimitedMixin, APIView):
    rate_group = "campaigns"

    @extend_schema(operation_id="campaigns_resume", parameters=_ID, request=None, responses=_ACTION_RESPONSES,
                   summary="Resume a paused campaign",
                   description="paused → active. Each lead continues where it was; nothing is sent twice.")
    def post(self, request: Request, campaign_id: str) -> Response:
        return _campaign(services.campaign_resume(workspace=workspace_of(request), campaign_id=campaign_id))


class CampaignStatsApi(APIView):
    @extend_schema(operation_id="campaigns_stats", parameters=_ID,
                   responses={200: schemas.CampaignStats, 401: Error, 404: Error},
                   summary="Per-step counts and the reply rate")
    def get(self, request: Request, campaign_id: str) -> Response:
        campaign = services.campaign_get(workspace=workspace_of(request), campaign_id=campaign_id)
        return Response(campaign_stats(campaign))


class CampaignRecipientsApi(APIView):
    @extend_schema(operation_id="campaigns_recipients", parameters=[*_ID, *_PAGE],
                   responses={200: schemas.RecipientList, 400: Error, 401: Error, 404: Error},
                   summary="Each lead's step, status badge, next step time and why it waits")
    def get(self, request: Request, campaign_id: str) -> Response:
        campaign = services.campaign_get(workspace=workspace_of(request), campaign_id=campaign_id)
        items, cursor = campaign_recipients(campaign, params=request.query_params)
        return Response({"recipients": items, "nextCursor": cursor, "hasMore": cursor is not None})


def _crm_links(lead: Lead) -> dict[str, Any]:
    return {key: getattr(lead, column) or None for key, column in CRM_FIELDS.items()}


class CampaignLeadsApi(RateLimitedMixin, APIView):
    rate_group = "campaign_add_lead"

    @extend_schema(
        operation_id="campaigns_add_lead", parameters=_ID, request=schemas.AddLeadInput,
        responses={200: schemas.ADD_LEAD_RESPONSE, 400: Error, 401: Error, 404: Error, 409: Error, 429: Error},
        summary="Add a lead to a campaign (starts its sequence)",
        description=(
            "`{leadId}` for an existing lead of the workspace, or `{lead: {firstName, lastName, email, phone, "
            "companyName, jobTitle}}` to add one (the workspace's lead with that phone or email is reused). "
            "A lead joins a campaign once: adding it again answers `alreadyInCampaign: true` and changes "
            "nothing. Bulk: `{leadIds: [...]}` (up to 1,000) or `{listId}` answers counts. "
            "200 requests per minute per workspace; the campaign's sends are not subject to the send rate limit."))
    def post(self, request: Request, campaign_id: str) -> Response:
        workspace = workspace_of(request)
        services.campaign_get(workspace=workspace, campaign_id=campaign_id)  # 404 before any 400
        add = parse_add_lead(request.data)
        if add.bulk is not None:
            counts = services.enroll_bulk(workspace=workspace, campaign_id=campaign_id, data=add.bulk)
            return Response({"success": True, "campaignId": campaign_id, **counts})
        _, enrolled = services.enroll_lead(workspace=workspace, campaign_id=campaign_id, lead_id=add.lead_id,
                                           lead_fields=add.lead_values)
        lead = enrolled.lead
        if not enrolled.created:
            return Response({"success": True, "leadId": lead.pk, "campaignId": campaign_id, "messageCount": 0,
                             "message": services.ALREADY_IN, "alreadyInCampaign": True,
                             "existingLeadIds": [lead.pk], **_crm_links(lead)})
        return Response({"success": True, "leadId": lead.pk, "campaignId": campaign_id,
                         "messageCount": enrolled.message_count, "message": services.ADDED, **_crm_links(lead)})
