"""Reads of outgoing webhooks: workspace-scoped endpoint lookups, documents, the delivery log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch
from django.http import QueryDict

from tuco.errors import BadRequest, NotFound
from tuco.ids import is_object_id
from tuco.models import Workspace
from tuco.pagination import parse_limit
from tuco.timefmt import iso
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent

WEBHOOK_NOT_FOUND = "Webhook not found"
EVENT_NOT_FOUND = "Webhook event not found"


def webhook_list(*, workspace: Workspace) -> list[WebhookEndpoint]:
    return list(WebhookEndpoint.objects.filter(workspace=workspace).order_by("-created_at", "-id"))


def webhook_get(*, workspace: Workspace, webhook_id: str) -> WebhookEndpoint:
    """The endpoint if it belongs to `workspace`; another workspace's id is indistinguishable from unknown."""
    endpoint = None
    if is_object_id(webhook_id):
        endpoint = WebhookEndpoint.objects.filter(workspace=workspace, pk=webhook_id).first()
    if endpoint is None:
        raise NotFound(WEBHOOK_NOT_FOUND)
    return endpoint


def event_get(*, endpoint: WebhookEndpoint, event_id: str) -> WebhookEvent:
    event = None
    if is_object_id(event_id):
        event = WebhookEvent.objects.filter(endpoint=endpoint, event_id=event_id).first()
    if event is None:
        raise NotFound(EVENT_NOT_FOUND)
    return event


def webhook_document(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """The webhook on the wire. Never includes the secret."""
    return {
        "id": endpoint.pk,
        "url": endpoint.url,
        "events": endpoint.events,
        "name": endpoint.name,
        "description": endpoint.description or None,
        "isActive": endpoint.is_active,
        "pausedReason": endpoint.paused_reason or None,
        "lastTriggeredAt": iso(endpoint.last_triggered_at),
        "lastSuccessAt": iso(endpoint.last_success_at),
        "lastFailureAt": iso(endpoint.last_failure_at),
        "failureCount": endpoint.failure_count,
        "createdAt": iso(endpoint.created_at),
        "updatedAt": iso(endpoint.updated_at),
    }


def delivery_document(d: WebhookDelivery) -> dict[str, Any]:
    return {"attempt": d.attempt, "at": iso(d.at), "url": d.url, "success": d.success, "statusCode": d.status_code,
            "latencyMs": d.latency_ms, "response": d.response_snippet or None, "error": d.error or None}


def event_document(e: WebhookEvent) -> dict[str, Any]:
    return {
        "eventId": e.event_id,
        "event": e.event_type,
        "messageId": e.message_id or None,
        "status": e.status,
        "attemptCount": e.attempt_count,
        "nextAttemptAt": iso(e.next_attempt_at) if e.status in WebhookEvent.CLAIMABLE else None,
        "lastStatusCode": e.last_status_code,
        "lastError": e.last_error or None,
        "deliveredAt": iso(e.delivered_at),
        "createdAt": iso(e.created_at),
        "payload": e.payload,
        "attempts": [delivery_document(d) for d in e.deliveries.all()],
    }


@dataclass
class EventPage:
    items: list[WebhookEvent]
    next_cursor: str | None
    limit: int


def event_list(*, endpoint: WebhookEndpoint, params: QueryDict) -> EventPage:
    """Recent events of one endpoint, newest first, each with its tries (oldest try first)."""
    limit = parse_limit(params.get("limit"))
    qs = WebhookEvent.objects.filter(endpoint=endpoint)
    status = params.get("status")
    if status:
        if status not in WebhookEvent.Status.values:
            raise BadRequest(f"Invalid status. Must be one of {', '.join(WebhookEvent.Status.values)}",
                             code="INVALID_STATUS")
        qs = qs.filter(status=status)
    event_type = params.get("event")
    if event_type:
        qs = qs.filter(event_type=event_type)
    cursor = params.get("cursor")
    if cursor:
        anchor = WebhookEvent.objects.filter(endpoint=endpoint, event_id=cursor).values_list("pk", flat=True).first()
        if anchor is None:
            raise BadRequest("Invalid cursor", code="INVALID_CURSOR")
        qs = qs.filter(pk__lt=anchor)
    items = list(qs.order_by("-pk").prefetch_related(
        Prefetch("deliveries", queryset=WebhookDelivery.objects.order_by("attempt")))[: limit + 1])
    has_more = len(items) > limit
    items = items[:limit]
    return EventPage(items=items, next_cursor=items[-1].event_id if has_more else None, limit=limit)
