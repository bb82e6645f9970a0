"""Outgoing webhook outbox: event rows written in the status change's transaction.

The message state machine (messaging.send.state, through messaging.webhook_events)
calls `outbox_record_event` inside the transaction that changes a message (or
records an inbound reply / a read receipt): the event rows commit with the fact
they report or not at all, and the delivery task is only handed to the broker
after that commit. This module knows nothing of messages beyond their id: the
caller builds the body.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from tuco.ids import new_id
from tuco.logging import get_logger
from webhooks import delivery
from webhooks.models import EVENT_TYPES, WebhookEndpoint, WebhookEvent
from webhooks.payloads import with_event_id
from webhooks.signing import encode_body

log = get_logger(__name__)


def subscribed_endpoint_ids(*, workspace_id: str, event_type: str) -> list[str]:
    """Endpoints that get this event: active ones, and auto-paused ones (their events wait, not lost).

    One indexed query and no cache: a stale "no endpoints" answer would lose
    events, and a Redis round trip costs about as much as this query.
    An endpoint paused on purpose (API/admin `isActive: false`) records nothing.
    """
    rows = (WebhookEndpoint.objects.filter(workspace_id=workspace_id)
            .filter(Q(is_active=True) | Q(paused_by=WebhookEndpoint.PausedBy.FAILURES))
            .values_list("id", "events"))
    return [pk for pk, events in rows if event_type in (events or ())]


def outbox_record_event(*, workspace_id: str, message_id: str, event_type: str,
                        payload: Callable[[datetime], dict[str, Any]]) -> list[int]:
    """Record `event_type` about one message for every subscribed endpoint; deliver after commit.

    `payload(at)` builds the body (the caller's snapshot of the moment of the event); it is only
    called when an endpoint subscribes, so an unsubscribed event costs one query. Returns the outbox
    row ids. `message.opened` is recorded at most once per message and endpoint.
    """
    if event_type not in EVENT_TYPES:
        log.error("webhook.unknown_event_type", eventType=event_type, messageId=message_id)
        return []
    endpoint_ids = subscribed_endpoint_ids(workspace_id=workspace_id, event_type=event_type)
    if not endpoint_ids:
        return []
    now = timezone.now()
    body = payload(now)
    rows = []
    for endpoint_id in endpoint_ids:
        event_id = new_id()
        rows.append(WebhookEvent(
            event_id=event_id, workspace_id=workspace_id, endpoint_id=endpoint_id, event_type=event_type,
            message_id=message_id, body=encode_body(with_event_id(body, event_id)).decode(),
            status=WebhookEvent.Status.PENDING, next_attempt_at=now, enqueued_at=now, created_at=now,
        ))
    if event_type == "message.opened":
        WebhookEvent.objects.bulk_create(rows, ignore_conflicts=True)
        pks = list(WebhookEvent.objects.filter(event_id__in=[r.event_id for r in rows])
                   .order_by("pk").values_list("pk", flat=True))
    else:
        pks = [r.pk for r in WebhookEvent.objects.bulk_create(rows)]
    if pks:
        transaction.on_commit(lambda: delivery.enqueue_many(pks))
        log.info("webhook.event_recorded", eventType=event_type, messageId=message_id, workspaceId=workspace_id,
                 endpoints=len(pks))
    return pks
