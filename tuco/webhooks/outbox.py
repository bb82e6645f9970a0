"""Outgoing webhook outbox: event rows written in the status change's transaction.

`messaging.lifecycle` calls `outbox_record` inside the transaction that changes
a message (or records an inbound reply / a read receipt): the event rows commit
with the fact they report or not at all, and the delivery task is only handed
to the broker after that commit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from tuco.ids import new_id
from tuco.logging import get_logger
from tuco.webhooks.models import EVENT_TYPES, WebhookEndpoint, WebhookEvent
from tuco.webhooks.signing import encode_body

if TYPE_CHECKING:
    from messaging.models import Message

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


def outbox_record(*, message: Message, event_type: str) -> list[int]:
    """Record `event_type` about `message` for every subscribed endpoint; deliver after commit.

    `message` is the row as it is now (for status events, the row returned by
    the transition); for `message.reply` it is the inbound message. The payload
    is built here, so it is a snapshot of the moment of the event. Returns the
    outbox row ids (empty when no endpoint subscribes). `message.opened` is
    recorded at most once per message and endpoint.
    """
    if event_type not in EVENT_TYPES:
        log.error("webhook.unknown_event_type", eventType=event_type, messageId=message.pk)
        return []
    endpoint_ids = subscribed_endpoint_ids(workspace_id=message.workspace_id, event_type=event_type)
    if not endpoint_ids:
        return []
    from tuco.webhooks.payloads import event_payload, with_event_id

    now = timezone.now()
    payload = event_payload(message, event_type, at=now)
    rows = []
    for endpoint_id in endpoint_ids:
        event_id = new_id()
        rows.append(WebhookEvent(
            event_id=event_id, workspace_id=message.workspace_id, endpoint_id=endpoint_id, event_type=event_type,
            message_id=message.pk, body=encode_body(with_event_id(payload, event_id)).decode(),
            status=WebhookEvent.Status.PENDING, next_attempt_at=now, enqueued_at=now, created_at=now,
        ))
    if event_type == "message.opened":
        WebhookEvent.objects.bulk_create(rows, ignore_conflicts=True)
        pks = list(WebhookEvent.objects.filter(event_id__in=[r.event_id for r in rows])
                   .order_by("pk").values_list("pk", flat=True))
    else:
        pks = [r.pk for r in WebhookEvent.objects.bulk_create(rows)]
    if pks:
        from tuco.webhooks import delivery

        transaction.on_commit(lambda: delivery.enqueue_many(pks))
        log.info("webhook.event_recorded", eventType=event_type, messageId=message.pk,
                 workspaceId=message.workspace_id, endpoints=len(pks))
    return pks
