"""Webhooks management API: list/create, get/update/delete, health check, delivery log, replay.

Thin: parse → service → document. Another workspace's ids answer 404.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tuco.auth import workspace_of
from tuco.body_fields import require_json_object
from tuco.errors import BadRequest, Conflict
from tuco.throttles import RateLimitedMixin
from tuco.timefmt import iso
from webhooks import schemas
from webhooks.selectors import event_document, event_get, event_list, webhook_document, webhook_get, webhook_list
from webhooks.services import (
    SECRET_WARNING,
    EndpointChanges,
    event_replay,
    webhook_create,
    webhook_delete,
    webhook_health_check,
    webhook_update,
)

_ERRORS = {401: schemas.Error, 402: schemas.Error, 404: schemas.Error}


def _body(request: Request) -> dict[str, Any]:
    data = request.data
    require_json_object(data, code="INVALID_JSON")
    return data


def _changes(data: dict[str, Any]) -> EndpointChanges:
    changes = EndpointChanges()
    if "url" in data:
        changes.url = data["url"] if data["url"] is not None else ""
    if "events" in data:
        changes.events = data["events"]
    if "name" in data:
        if not isinstance(data["name"], str) or not data["name"].strip():
            raise BadRequest("name cannot be empty", code="VALIDATION_ERROR")
        changes.name = data["name"]
    if "description" in data:
        changes.description = data["description"] if data["description"] is not None else ""
    if "isActive" in data:
        if not isinstance(data["isActive"], bool):
            raise BadRequest("isActive must be a boolean", code="VALIDATION_ERROR")
        changes.is_active = data["isActive"]
    return changes


class WebhooksApi(APIView):
    @extend_schema(operation_id="webhooks_list", responses={200: schemas.WebhookListResponse, 401: schemas.Error},
                   summary="List webhooks, newest first (secrets are never returned)")
    def get(self, request: Request) -> Response:
        return Response({"webhooks": [webhook_document(e) for e in webhook_list(workspace=workspace_of(request))]})

    @extend_schema(operation_id="webhooks_create", request=schemas.WebhookCreateInput,
                   responses={201: schemas.WebhookCreated, 400: schemas.Error, 401: schemas.Error,
                              402: schemas.Error},
                   summary="Create a webhook; the signing secret is returned once")
    def post(self, request: Request) -> Response:
        data = _body(request)
        endpoint = webhook_create(workspace=workspace_of(request), url=data.get("url"), events=data.get("events"),
                                  name=data.get("name"), description=data.get("description"))
        return Response({"id": endpoint.pk, "secret": endpoint.secret, "url": endpoint.url, "events": endpoint.events,
                         "name": endpoint.name, "description": endpoint.description or None,
                         "isActive": endpoint.is_active, "createdAt": iso(endpoint.created_at),
                         "warning": SECRET_WARNING}, status=201)


class WebhookDetailApi(APIView):
    @extend_schema(operation_id="webhooks_get", parameters=[schemas.ID_PARAMETER],
                   responses={200: schemas.WebhookDoc, 401: schemas.Error, 404: schemas.Error},
                   summary="Read one webhook (without its secret)")
    def get(self, request: Request, webhook_id: str) -> Response:
        return Response(webhook_document(webhook_get(workspace=workspace_of(request), webhook_id=webhook_id)))

    @extend_schema(operation_id="webhooks_update", parameters=[schemas.ID_PARAMETER],
                   request=schemas.WebhookUpdateInput,
                   responses={200: schemas.WebhookUpdateResponse, 400: schemas.Error, **_ERRORS},
                   summary="Change URL, events (replaced, not merged), name, description or isActive")
    def patch(self, request: Request, webhook_id: str) -> Response:
        endpoint = webhook_get(workspace=workspace_of(request), webhook_id=webhook_id)
        endpoint = webhook_update(endpoint=endpoint, changes=_changes(_body(request)))
        return Response({"success": True, "webhook": webhook_document(endpoint)})

    @extend_schema(operation_id="webhooks_delete", parameters=[schemas.ID_PARAMETER],
                   responses={200: schemas.WebhookSuccessResponse, **_ERRORS},
                   summary="Delete a webhook permanently (with its undelivered events and delivery log)")
    def delete(self, request: Request, webhook_id: str) -> Response:
        webhook_delete(endpoint=webhook_get(workspace=workspace_of(request), webhook_id=webhook_id))
        return Response({"success": True})


class WebhookHealthCheckApi(RateLimitedMixin, APIView):
    rate_group = "webhook_health_check"

    @extend_schema(operation_id="webhooks_health_check", parameters=[schemas.ID_PARAMETER], request=None,
                   responses={200: schemas.WebhookHealthCheckResponse, **_ERRORS},
                   summary="Send a real signed test ping (10 s timeout) and report the endpoint's answer")
    def post(self, request: Request, webhook_id: str) -> Response:
        endpoint = webhook_get(workspace=workspace_of(request), webhook_id=webhook_id)
        return Response(webhook_health_check(endpoint=endpoint))


class WebhookDeliveriesApi(APIView):
    @extend_schema(operation_id="webhooks_deliveries", parameters=schemas.DELIVERIES_PARAMETERS,
                   responses={200: schemas.WebhookDeliveriesResponse, 400: schemas.Error, 401: schemas.Error,
                              404: schemas.Error},
                   summary="Recent events of a webhook (newest first) with every delivery try")
    def get(self, request: Request, webhook_id: str) -> Response:
        endpoint = webhook_get(workspace=workspace_of(request), webhook_id=webhook_id)
        page = event_list(endpoint=endpoint, params=request.query_params)
        return Response({"events": [event_document(e) for e in page.items], "nextCursor": page.next_cursor,
                         "hasMore": page.next_cursor is not None, "limit": page.limit})


class WebhookEventReplayApi(APIView):
    @extend_schema(operation_id="webhooks_event_replay", parameters=[schemas.ID_PARAMETER, schemas.EVENT_ID_PARAMETER],
                   request=None, responses={202: schemas.WebhookReplayResponse, 409: schemas.Error, **_ERRORS},
                   summary="Send a delivered or dead event again (same event id and body)")
    def post(self, request: Request, webhook_id: str, event_id: str) -> Response:
        endpoint = webhook_get(workspace=workspace_of(request), webhook_id=webhook_id)
        event = event_get(endpoint=endpoint, event_id=event_id)
        if not event_replay(event=event):
            event.refresh_from_db(fields=["status"])
            raise Conflict(f"Only delivered or dead events can be replayed; this one is {event.status}",
                           code="EVENT_NOT_REPLAYABLE")
        return Response({"success": True, "eventId": event.event_id, "status": "pending"}, status=202)
