"""The message state machine: the only code that writes `Message.status`.

Every change is one guarded UPDATE (`WHERE id = … AND status = ANY(allowed)`),
so concurrent writers cannot both win, plus a `MessageEvent` row and, where an
integrator subscribed, an outgoing-webhook outbox row, in the same transaction.
Callers get back the updated row, or None when the guard did not match
("someone else got there first" or "not allowed from here").
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from messaging.models import CLAIMABLE, Message, MessageEvent, Status
from tuco.logging import get_logger

log = get_logger(__name__)

# Which outgoing webhook event a status change produces (issue: outgoing webhooks).
WEBHOOK_EVENT_FOR_STATUS = {
    Status.SENT: "message.sent",
    Status.DELIVERED: "message.delivered",
    Status.FAILED: "message.failed",
    Status.FALLBACK: "message.fallback",
}

# The legal moves. Anything not listed is refused by the guard, which is what
# keeps a late callback from moving a message backwards.
ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    Status.PENDING: (Status.QUEUED, Status.SCHEDULED, Status.SENDING,
                     Status.FAILED),  # operator retry of a failed message
    Status.QUEUED: (Status.PENDING, Status.SCHEDULED, Status.SENDING, Status.QUEUED,
                    # a device reported a send error after the 200: retry
                    Status.SENT),
    Status.SCHEDULED: (Status.PENDING, Status.QUEUED, Status.SCHEDULED),
    Status.SENDING: CLAIMABLE,
    Status.SENT: (Status.SENDING,),
    Status.DELIVERED: (Status.SENDING, Status.SENT),
    Status.FAILED: (Status.PENDING, Status.QUEUED, Status.SCHEDULED, Status.SENDING, Status.SENT),
    Status.FALLBACK: (Status.PENDING, Status.QUEUED, Status.SCHEDULED, Status.SENDING),
    Status.CANCELLED: (Status.QUEUED, Status.PENDING, Status.SCHEDULED),
}

_COLUMNS = {f.name: f for f in Message._meta.concrete_fields}


def _set_clause(fields: dict[str, Any], increments: Iterable[str]) -> tuple[list[str], list[Any]]:
    sets: list[str] = []
    params: list[Any] = []
    for name, value in fields.items():
        field = _COLUMNS[name]
        if field.is_relation and isinstance(value, Model):
            value = value.pk
        sets.append(f'"{field.column}" = %s')
        params.append(field.get_db_prep_save(value, connection))
    for name in increments:
        column = _COLUMNS[name].column
        sets.append(f'"{column}" = "{column}" + 1')
    return sets, params


def transition(
    message_id: str,
    *,
    to: str,
    allowed_from: Iterable[str] | None = None,
    reason: str = "",
    fields: dict[str, Any] | None = None,
    increments: Iterable[str] = (),
    detail: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Message | None:
    """Move a message to `to` if its status is in `allowed_from`; return the updated row.

    `fields` are written in the same UPDATE (e.g. sent_at, error). The
    MessageEvent and any webhook outbox row commit with it or not at all.
    """
    now = now or timezone.now()
    allowed = tuple(allowed_from) if allowed_from is not None else ALLOWED_FROM[to]
    illegal = set(allowed) - set(ALLOWED_FROM[to])
    if illegal:
        raise ValueError(f"illegal transition to {to} from {sorted(illegal)}")
    values = {"status": to, "updated_at": now, **(fields or {})}
    sets, params = _set_clause(values, increments)
    table = Message._meta.db_table
    sql = (
        f'WITH old AS (SELECT id, status FROM "{table}" WHERE id = %s AND status = ANY(%s) FOR UPDATE) '
        f'UPDATE "{table}" m SET {", ".join(sets)} FROM old WHERE m.id = old.id '
        f"RETURNING m.*, old.status AS previous_status"
    )
    with transaction.atomic():
        rows = list(Message.objects.raw(sql, [message_id, list(allowed), *params]))
        if not rows:
            return None
        message = rows[0]
        previous = message.previous_status
        MessageEvent.objects.create(message_id=message_id, at=now, from_status=previous, to_status=to,
                                    reason=reason, detail=detail or {})
        event_type = WEBHOOK_EVENT_FOR_STATUS.get(to)
        if event_type and previous != to:
            _emit_webhook(message, event_type)
        if to in LEAVES_THE_QUEUE and previous not in LEAVES_THE_QUEUE and message.thread_id \
                and message.direction == "outbound":  # sent → delivered already woke it at sent
            _wake_thread_successor(message, now)
    log.info("message.status_changed", messageId=message_id, lineId=message.line_id, fromStatus=previous,
             toStatus=to, reason=reason, workspaceId=message.workspace_id,
             correlationId=message.correlation_id)
    return message


# Once a message is out of the queue, the next message of its conversation may go.
LEAVES_THE_QUEUE = (Status.SENT, Status.DELIVERED, Status.FAILED, Status.FALLBACK, Status.CANCELLED)


def _wake_thread_successor(message: Message, now: datetime) -> None:
    successor = (Message.objects.filter(thread_id=message.thread_id, status__in=CLAIMABLE,
                                        queued_reason="thread_order", next_attempt_at__gt=now)
                 .order_by("created_at", "id").values_list("id", flat=True).first())
    if successor and Message.objects.filter(pk=successor, queued_reason="thread_order").update(
            next_attempt_at=now, enqueued_at=None):
        from messaging.outcomes import schedule_dispatch

        transaction.on_commit(lambda: schedule_dispatch(successor, now))


def record_fact(message_id: str, *, reason: str, detail: dict[str, Any] | None = None,
                now: datetime | None = None) -> None:
    """A timeline entry that is not a status change (e.g. read receipt, fallback sent)."""
    MessageEvent.objects.create(message_id=message_id, at=now or timezone.now(), reason=reason,
                                detail=detail or {})


def record_created(message: Message, *, detail: dict[str, Any] | None = None) -> None:
    """The first timeline entry; the row itself was inserted by the create service."""
    MessageEvent.objects.create(message_id=message.pk, at=message.created_at, from_status="",
                                to_status=message.status, reason="created", detail=detail or {})


def update_fields(message_id: str, *, allowed_statuses: Iterable[str], **fields: Any) -> int:
    """Write non-status columns only while the message is in one of `allowed_statuses`."""
    return Message.objects.filter(pk=message_id, status__in=list(allowed_statuses)).update(
        updated_at=timezone.now(), **fields
    )


def emit_webhook_for(message: Message, event_type: str) -> None:
    """Outbox row for an event that is not a status change (message.opened, message.reply)."""
    _emit_webhook(message, event_type)


def _emit_webhook(message: Message, event_type: str) -> None:
    from tuco.webhooks.outbox import outbox_record

    outbox_record(message=message, event_type=event_type)
