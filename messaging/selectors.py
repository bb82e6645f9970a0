"""Reads for the messages API: filtered, workspace-scoped, cursor-paginated."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.http import QueryDict

from messaging.models import Direction, Message, MessageType, QueuedReason, Status
from tuco.errors import BadRequest, NotFound
from tuco.ids import is_object_id
from tuco.models import Workspace
from tuco.pagination import parse_limit
from tuco.timefmt import iso, parse_iso

MESSAGE_NOT_FOUND = "Message not found"


@dataclass
class Page:
    items: list[Message]
    next_cursor: str | None
    limit: int


def _id_param(params: QueryDict, name: str) -> str | None:
    value = params.get(name)
    if value in (None, ""):
        return None
    if not is_object_id(value):
        raise BadRequest(f"Invalid {name}", code="INVALID_ID")
    return value


def _date_param(params: QueryDict, name: str) -> Any:
    value = params.get(name)
    if value in (None, ""):
        return None
    parsed = parse_iso(value)
    if parsed is None:
        raise BadRequest(f"Invalid {name}: use ISO 8601", code="INVALID_DATE")
    return parsed


def messages_filtered(*, workspace: Workspace, params: QueryDict) -> QuerySet[Message]:
    """The workspace's messages narrowed by the filters of GET /api/messages (the export uses them too);
    unordered. An invalid filter is a 400, raised here, before anything is read."""
    qs: QuerySet[Message] = Message.objects.filter(workspace=workspace)
    status = params.get("status")
    if status:
        statuses = [s.strip() for s in status.split(",") if s.strip()]
        unknown = [s for s in statuses if s not in Status.values]
        if unknown:
            raise BadRequest(f"Invalid status: {', '.join(unknown)}", code="INVALID_STATUS")
        qs = qs.filter(status__in=statuses)
    message_type = params.get("messageType")
    if message_type:
        if message_type not in MessageType.values:
            raise BadRequest("Invalid messageType. Must be email, sms, or imessage")
        qs = qs.filter(message_type=message_type)
    for name, column in (("fromLineId", "line_id"), ("leadId", "lead_id"), ("threadId", "thread_id"),
                         ("campaignId", "campaign_id")):
        value = _id_param(params, name)
        if value:
            qs = qs.filter(**{column: value})
    step = params.get("stepIndex")
    if step not in (None, ""):
        if not step.isdigit() or int(step) > 100:
            raise BadRequest("stepIndex must be a step number (0, 1, 2, …)", code="INVALID_STEP_INDEX")
        qs = qs.filter(step_index=int(step))
    for name, column in (("batchId", "batch_id"), ("correlationId", "correlation_id"), ("direction", "direction")):
        value = params.get(name)
        if value:
            qs = qs.filter(**{column: value})
    recipient = (params.get("recipient") or "").strip()
    if recipient:
        qs = qs.filter(Q(recipient_phone=recipient) | Q(recipient_email=recipient.lower())
                       | Q(send_to_address=recipient) | Q(send_to_address=recipient.lower()))
    created_from, created_to = _date_param(params, "createdFrom"), _date_param(params, "createdTo")
    if created_from and created_to and created_from > created_to:
        raise BadRequest("createdFrom must be <= createdTo", code="INVALID_DATE")
    if created_from:
        qs = qs.filter(created_at__gte=created_from)
    if created_to:
        qs = qs.filter(created_at__lte=created_to)
    return qs


def message_list(*, workspace: Workspace, params: QueryDict) -> Page:
    limit = parse_limit(params.get("limit"))
    qs = messages_filtered(workspace=workspace, params=params)
    cursor = params.get("cursor")
    if cursor:
        # The cursor names the last message of the previous page; the page continues below its
        # (created_at, id): two messages of one second by different web workers keep their order.
        after = Message.objects.filter(workspace=workspace, pk=cursor).values_list("created_at", flat=True).first() \
            if is_object_id(cursor) else None
        if after is None:
            raise BadRequest("Invalid cursor", code="INVALID_CURSOR")
        qs = qs.filter(Q(created_at__lt=after) | Q(created_at=after, id__lt=cursor))
    items = list(qs.order_by("-created_at", "-id")[: limit + 1])
    has_more = len(items) > limit
    items = items[:limit]
    return Page(items=items, next_cursor=items[-1].pk if has_more else None, limit=limit)


@dataclass
class Detail:
    message: Message
    events: list[dict[str, Any]]
    attempts: list[dict[str, Any]]


def message_get(*, workspace: Workspace, message_id: str) -> Message:
    message = None
    if is_object_id(message_id):
        message = Message.objects.select_related("line").filter(workspace=workspace, pk=message_id).first()
    if message is None:
        raise NotFound(MESSAGE_NOT_FOUND)
    return message


def message_detail(*, workspace: Workspace, message_id: str) -> Detail:
    message = message_get(workspace=workspace, message_id=message_id)
    events = [
        {"at": iso(e.at), "fromStatus": e.from_status or None, "toStatus": e.to_status or None,
         "reason": e.reason or None, "detail": e.detail}
        for e in message.events.order_by("at", "id")
    ]
    attempts = [
        {"number": a.number, "channel": a.channel, "lineId": a.line_id, "toAddress": a.to_address or None,
         "startedAt": iso(a.started_at), "finishedAt": iso(a.finished_at), "durationMs": a.duration_ms,
         "responseCode": a.response_code, "outcome": a.outcome, "errorClass": a.error_class or None,
         "error": a.error or None, "externalId": a.external_id or None, "cacheHit": a.cache_hit}
        for a in message.attempts.order_by("started_at", "id")
    ]
    return Detail(message=message, events=events, attempts=attempts)


# --- the queue, as the pacing gates and the explanations read it ------------------------------------

# An older message of the conversation waiting for one of these does not hold the newer ones back:
# they are the older message's own schedule, not a turn in the queue (a paused campaign's message
# waits for its campaign, which could be forever: it must not hold the conversation's other sends).
OWN_SCHEDULE_REASONS = (QueuedReason.SCHEDULED, QueuedReason.TIME_WINDOW, QueuedReason.DAY_NOT_ALLOWED,
                        QueuedReason.CAMPAIGN_PAUSED)


def older_than(message: Message) -> Q:
    """Created before `message` (ids break ties within one instant)."""
    return Q(created_at__lt=message.created_at) | Q(created_at=message.created_at, id__lt=message.pk)


def ahead_in_thread(message: Message) -> QuerySet[Message]:
    """Older outbound messages to the same recipient still on their way (sending, or waiting their turn)."""
    return (Message.objects.filter(thread_id=message.thread_id, direction=Direction.OUTBOUND,
                                   status__in=(Status.PENDING, Status.QUEUED, Status.SCHEDULED, Status.SENDING))
            .exclude(queued_reason__in=OWN_SCHEDULE_REASONS).filter(older_than(message)))


def thread_order_expected_at(message: Message) -> datetime | None:
    """For display: when the message holding this one back is expected to go."""
    return ahead_in_thread(message).order_by("-next_attempt_at").values_list("next_attempt_at", flat=True).first()
