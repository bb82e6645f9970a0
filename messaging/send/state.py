"""The message state machine: the only writer of the `Message` columns the send path changes.

Status, the queue columns (`queued_reason`, `next_attempt_at`, `enqueued_at`, `sending_since`,
`attempt_count`, `reservation`), what a send learned (`send_to_address`, `parts_sent`,
`external_message_id`, `sent_at`, `delivered_at`, `read_at`, `email_message_id`, checked
addresses, `rendered_body`), the errors and the `fallback_sms_*` columns are written here and nowhere else
(docs/architecture.md, "Who writes what").

Every status change is one guarded UPDATE (`WHERE id = … AND status = ANY(allowed)`), so two
writers cannot both win, plus its `MessageEvent` row and, where an integrator subscribed, its
outgoing-webhook outbox row, in the same transaction. Callers get back the updated row, or None
when the guard did not match ("someone else got there first" or "not allowed from here").
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import DateTimeField, F, Model, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from lines.capacity import capacity_release
from lines.models import Line
from messaging.models import CLAIMABLE, Direction, FallbackStatus, Message, MessageEvent, QueuedReason, Status, Thread
from messaging.send import attempts, wake
from messaging.send.outcome import Block
from messaging.signals import message_left_queue
from messaging.webhook_events import outbox_record
from tuco.logging import get_logger
from tuco.metrics import send_latency_observe

log = get_logger(__name__)

_TABLE = Message._meta.db_table

# Which outgoing webhook event a status change produces.
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

# Once a message is out of the queue, the next message of its conversation may go.
LEAVES_THE_QUEUE = (Status.SENT, Status.DELIVERED, Status.FAILED, Status.FALLBACK, Status.CANCELLED)

# The spec's log event names for "why is it queued?".
WAIT_EVENTS = {
    QueuedReason.SCHEDULED: "individual.message.validation_failed",
    QueuedReason.TIME_WINDOW: "individual.message.validation_failed",
    QueuedReason.DAY_NOT_ALLOWED: "individual.message.validation_failed",
    QueuedReason.LINE_DAILY_TOTAL: "message.queued_limit",
    QueuedReason.LINE_DAILY_NEW: "message.queued_limit",
    QueuedReason.LINE_FIRST_TOUCH_HOUR: "message.queued_limit",
    QueuedReason.DEVICE_GAP: "individual.message.device_gap_not_met",
    QueuedReason.CONTACT_GAP: "individual.message.gap_not_met",
}

_COLUMNS = {f.name: f for f in Message._meta.concrete_fields}


# --- status changes -------------------------------------------------------------------------------

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
    only_if_due: bool = False,
) -> Message | None:
    """Move a message to `to` if its status is in `allowed_from`; return the updated row.

    `fields` are written in the same UPDATE (e.g. sent_at, error). The MessageEvent and any
    webhook outbox row commit with it or not at all. `only_if_due`: and only if it is not held
    (a held message has no next attempt: its campaign is paused).
    """
    now = now or timezone.now()
    allowed = tuple(allowed_from) if allowed_from is not None else ALLOWED_FROM[to]
    illegal = set(allowed) - set(ALLOWED_FROM[to])
    if illegal:
        raise ValueError(f"illegal transition to {to} from {sorted(illegal)}")
    values = {"status": to, "updated_at": now, **(fields or {})}
    sets, params = _set_clause(values, increments)
    sql = (
        f'WITH old AS (SELECT id, status FROM "{_TABLE}" WHERE id = %s AND status = ANY(%s) '
        f'{"AND next_attempt_at IS NOT NULL " if only_if_due else ""}FOR UPDATE) '
        f'UPDATE "{_TABLE}" m SET {", ".join(sets)} FROM old WHERE m.id = old.id '
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
            outbox_record(message=message, event_type=event_type)
        if to in LEAVES_THE_QUEUE and previous not in LEAVES_THE_QUEUE and message.direction == Direction.OUTBOUND:
            if message.thread_id:  # sent → delivered already woke it at sent
                _wake_thread_successor(message, now)
            message_left_queue.send(sender=Message, message=message, previous=previous)
    log.info("message.status_changed", messageId=message_id, lineId=message.line_id, fromStatus=previous,
             toStatus=to, reason=reason, workspaceId=message.workspace_id,
             correlationId=message.correlation_id)
    return message


def _wake_thread_successor(message: Message, now: datetime) -> None:
    successor = (Message.objects.filter(thread_id=message.thread_id, status__in=CLAIMABLE,
                                        queued_reason=QueuedReason.THREAD_ORDER, next_attempt_at__gt=now)
                 .order_by("created_at", "id").values_list("id", flat=True).first())
    if successor and Message.objects.filter(pk=successor, queued_reason=QueuedReason.THREAD_ORDER).update(
            next_attempt_at=now, enqueued_at=None):
        transaction.on_commit(lambda: dispatch_at(successor, now))


def record_fact(message_id: str, *, reason: str, detail: dict[str, Any] | None = None,
                now: datetime | None = None) -> None:
    """A timeline entry that is not a status change (e.g. read receipt, fallback sent)."""
    MessageEvent.objects.create(message_id=message_id, at=now or timezone.now(), reason=reason,
                                detail=detail or {})


def record_created(message: Message, *, detail: dict[str, Any] | None = None) -> None:
    """The first timeline entry; the row itself was inserted by the create service (or an inbound receiver)."""
    MessageEvent.objects.create(message_id=message.pk, at=message.created_at, from_status="",
                                to_status=message.status, reason="created", detail=detail or {})


def emit_webhook_for(message: Message, event_type: str) -> None:
    """Outbox row for an event that is not a status change (message.opened, message.reply)."""
    outbox_record(message=message, event_type=event_type)


def _update_while(message_id: str, statuses: Iterable[str], **fields: Any) -> int:
    """Write non-status columns only while the message is in one of `statuses`."""
    return Message.objects.filter(pk=message_id, status__in=list(statuses)).update(
        updated_at=timezone.now(), **fields)


# --- the send's own outcomes ----------------------------------------------------------------------

def release_reservation(message_id: str) -> bool:
    """Give back the capacity the current claim holds, once (a guarded clear decides who releases)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f'WITH old AS (SELECT id, reservation FROM "{_TABLE}" WHERE id = %s AND reservation IS NOT NULL '
            f'FOR UPDATE) UPDATE "{_TABLE}" m SET reservation = NULL FROM old WHERE m.id = old.id '
            "RETURNING old.reservation",
            [message_id],
        )
        row = cursor.fetchone()
    if row is None:
        return False
    reservation = row[0]
    if isinstance(reservation, str):
        reservation = json.loads(reservation)
    capacity_release(reservation=reservation, message_id=message_id)
    return True


def mark_sent(message_id: str, *, guid: str, via: str, attempt_id: int | None = None,
              now: datetime | None = None, message_fields: dict[str, Any] | None = None,
              attempt_fields: dict[str, Any] | None = None) -> Message | None:
    """`sending → sent`, with the attempt, the thread's sticky line and the caller's last writes
    (`message_fields`, `attempt_fields`) in one transaction: one commit per send."""
    now = now or timezone.now()
    with transaction.atomic():
        updated = transition(
            message_id, to=Status.SENT, allowed_from=(Status.SENDING,), reason=via,
            fields={"sent_at": now, "external_message_id": guid, "sending_since": None, "next_attempt_at": None,
                    "error": "", "error_code": "", **(message_fields or {})},
            detail={"guid": guid}, now=now,
        )
        if attempt_id is not None:
            attempts.attempt_mark_sent(attempt_id, guid=guid, at=now, **(attempt_fields or {}))
        if updated is not None and updated.thread_id and updated.line_id:
            # The sticky line is the one the recipient actually heard from.
            Thread.objects.filter(pk=updated.thread_id).update(
                line_id=updated.line_id, started_at=Coalesce(F("started_at"), Value(now, output_field=DateTimeField())))
    if updated is not None:
        log.info("message.send.summary", messageId=message_id, lineId=updated.line_id, status="sent", via=via,
                 attempts=updated.attempt_count, correlationId=updated.correlation_id)
        send_latency_observe(channel=updated.message_type, created_at=updated.created_at, sent_at=now)
    return updated


def keep_parts_of_recorded_send(message_id: str, *, guid: str, parts: dict[str, str]) -> None:
    """Someone else recorded the send first (a relay event, the stuck sweep): keep our part guids too,
    unless a send error has since moved the message on (its errored part must stay unsent)."""
    Message.objects.filter(pk=message_id, external_message_id=guid,
                           status__in=(Status.SENT, Status.DELIVERED)).update(parts_sent=parts)


def record_parts_sent(message_id: str, parts: dict[str, str]) -> None:
    """A part left the device: written before the next part goes, so a crash never resends it."""
    Message.objects.filter(pk=message_id).update(parts_sent=parts)


def fail(message: Message, *, error: str, code: str, now: datetime | None = None,
         from_statuses: tuple[str, ...] = (Status.SENDING,)) -> Message | None:
    """→ failed, capacity given back. Whether a fallback SMS follows is messaging.send.outcomes' call."""
    now = now or timezone.now()
    release_reservation(message.pk)
    updated = transition(
        message.pk, to=Status.FAILED, allowed_from=from_statuses, reason=code.lower(),
        fields={"error": error[:2000], "error_code": code, "sending_since": None, "next_attempt_at": None,
                "queued_reason": ""},
        detail={"error": error[:500]}, now=now,
    )
    if updated is not None:
        log.warning("message.send.summary", messageId=message.pk, lineId=updated.line_id, status="failed",
                    errorCode=code, error=error[:300], attempts=updated.attempt_count,
                    correlationId=updated.correlation_id)
    return updated


def wait(message: Message, block: Block, *, now: datetime | None = None, from_statuses: tuple[str, ...] = CLAIMABLE,
         extra_fields: dict[str, Any] | None = None) -> Message | None:
    """Hold the message until `block.next_at`, saying why; a repeat of the same wait adds no timeline entry."""
    now = now or timezone.now()
    to = Status.SCHEDULED if block.reason == QueuedReason.SCHEDULED else Status.QUEUED
    soon = (block.next_at - now).total_seconds() <= wake.MAX_COUNTDOWN_SECONDS
    fields: dict[str, Any] = {"queued_reason": block.reason, "next_attempt_at": block.next_at,
                              "enqueued_at": block.next_at if soon else None, "sending_since": None,
                              **(extra_fields or {})}
    if block.reason in (QueuedReason.RETRY_WAIT, QueuedReason.LINE_UNHEALTHY) and block.detail:
        fields["error"] = block.detail[:2000]
    if message.status == to and message.queued_reason == block.reason:
        fields.pop("sending_since")
        _update_while(message.pk, (to,), **fields)
        updated: Message | None = message
    else:
        updated = transition(message.pk, to=to, allowed_from=from_statuses, reason=block.reason, fields=fields,
                             detail={"nextAttemptAt": block.next_at.isoformat(), "detail": block.detail,
                                     "lineId": block.line_id}, now=now)
    if updated is not None:
        log.info(WAIT_EVENTS.get(block.reason, "message.queued"), messageId=message.pk,
                 lineId=block.line_id or message.line_id, reason=block.reason,
                 nextAttemptAt=block.next_at.isoformat(), correlationId=message.correlation_id,
                 workspaceId=message.workspace_id, detail=block.detail)
        if soon:
            transaction.on_commit(lambda: dispatch_at(message.pk, block.next_at, now=now))
    return updated


def wait_without_attempt(message: Message, block: Block, *, now: datetime | None = None) -> Message | None:
    """A claimed send that did not happen through no fault of the message (its line failed, no
    availability budget): it waits, and the attempt it was charged is given back."""
    return wait(message, block, now=now, from_statuses=(Status.SENDING,),
                extra_fields={"attempt_count": max(0, message.attempt_count - 1)})


def wait_on_another_line(message: Message, *, line: Line, tried: list[str], error: str,
                         now: datetime | None = None) -> Message | None:
    """One attempt per line (a campaign's step 0): the next line of the message's choices, at once."""
    now = now or timezone.now()
    return wait(message, Block(QueuedReason.RETRY_WAIT, now, error, line.pk), now=now, from_statuses=(Status.SENDING,),
                extra_fields={"line": line, "from_line_phone": line.phone, "from_line_email": line.email,
                              "lines_tried": tried})


# --- campaign holds: a paused campaign's messages wait without a next attempt -------------------------

def hold_campaign_messages(campaign_id: str, *, now: datetime | None = None) -> int:
    """Every claimable message of the campaign → queued `campaign_paused`, with no next attempt (the claim
    refuses a message without one, so a wake-up already in the broker cannot send it)."""
    now = now or timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f'WITH old AS (SELECT id, status FROM "{_TABLE}" WHERE campaign_id = %s AND status = ANY(%s) '
            f'FOR UPDATE) UPDATE "{_TABLE}" m SET status = %s, queued_reason = %s, next_attempt_at = NULL, '
            "enqueued_at = NULL, updated_at = %s FROM old WHERE m.id = old.id RETURNING m.id, old.status",
            [campaign_id, list(CLAIMABLE), Status.QUEUED, QueuedReason.CAMPAIGN_PAUSED, now])
        held = cursor.fetchall()
        MessageEvent.objects.bulk_create([
            MessageEvent(message_id=pk, at=now, from_status=old, to_status=Status.QUEUED,
                         reason=QueuedReason.CAMPAIGN_PAUSED) for pk, old in held])
    return len(held)


def release_campaign_messages(campaign_id: str, *, now: datetime | None = None) -> int:
    """The campaign resumed: its held messages are due now (the due sweep wakes them)."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(Message.objects.filter(campaign_id=campaign_id, status=Status.QUEUED,
                                          queued_reason=QueuedReason.CAMPAIGN_PAUSED).values_list("id", flat=True))
        Message.objects.filter(pk__in=ids, status=Status.QUEUED, queued_reason=QueuedReason.CAMPAIGN_PAUSED).update(
            queued_reason="", next_attempt_at=now, enqueued_at=None, updated_at=now)
        MessageEvent.objects.bulk_create([MessageEvent(message_id=pk, at=now, from_status=Status.QUEUED,
                                                       to_status=Status.QUEUED, reason="campaign_resumed")
                                          for pk in ids])
    return len(ids)


# --- what a send learned on the way ---------------------------------------------------------------

def record_send_to(message_id: str, address: str) -> None:
    """The address a provider actually sent to (an SMS that moved on to the lead's next number)."""
    Message.objects.filter(pk=message_id).update(send_to_address=address)


def record_rendered_body(message: Message, text: str) -> None:
    """The text a channel is sending, personalized now (placeholders filled from the lead as it is at this
    moment): what the recipient gets, kept apart from the template in `body` (the Unibox shows it). Written
    only when it changed, so a retry that renders the same text costs no write."""
    if message.rendered_body != text:
        Message.objects.filter(pk=message.pk).update(rendered_body=text)
        message.rendered_body = text


def record_availability(message_id: str, *, address: str, send_to_changed: bool, checked_addresses: list[str],
                        from_cache: bool) -> None:
    fields: dict[str, Any] = {"checked_addresses": checked_addresses, "availability_from_cache": from_cache}
    if send_to_changed:
        fields["send_to_address"] = address
    _update_while(message_id, (Status.SENDING,), **fields)


def record_email_message_id(message_id: str, header: str) -> None:
    """The Message-ID of the email being sent, stored first so a reply threads onto it."""
    _update_while(message_id, (Status.SENDING,), email_message_id=header)


def record_read(message: Message, read_at: datetime) -> bool:
    """The recipient read it: once (timeline entry + message.opened), whatever repeats the receipt."""
    with transaction.atomic():
        if not Message.objects.filter(pk=message.pk, read_at__isnull=True).update(read_at=read_at):
            return False
        record_fact(message.pk, reason="read", detail={"readAt": read_at.isoformat()})
        emit_webhook_for(Message.objects.get(pk=message.pk), "message.opened")
    return True


def email_bounced_to(message: Message, *, address: str, error: str) -> Message | None:
    """`sent → queued` for a bounced email: the next alternate `address`, due now (the bounce is the
    remote server's word, after our send was accepted)."""
    now = timezone.now()
    moved = transition(message.pk, to=Status.QUEUED, allowed_from=(Status.SENT,), reason="email_bounced",
                       fields={"send_to_address": address, "sent_at": None, "external_message_id": "",
                               "email_message_id": "", "queued_reason": QueuedReason.RETRY_WAIT,
                               "next_attempt_at": now, "enqueued_at": None, "error": error[:2000]},
                       detail={"nextAddress": address, "error": error[:500]}, now=now)
    if moved is not None:
        transaction.on_commit(lambda: dispatch_at(message.pk, now))
    return moved


def forget_errored_part(message: Message, guid: str) -> None:
    """The device marked a part it had accepted as failed: forget that part so the retry sends it
    again (parts that did go stay sent), and the send it stood for."""
    still_sent = {key: part_guid for key, part_guid in (message.parts_sent or {}).items() if part_guid != guid}
    Message.objects.filter(pk=message.pk, status=Status.SENT).update(parts_sent=still_sent, external_message_id="",
                                                                     sent_at=None)


def thread_mark_read(*, thread_id: str) -> None:
    """An operator opened the thread in the Unibox: its replies are read."""
    Message.objects.filter(thread_id=thread_id, direction=Direction.INBOUND, is_read=False).update(is_read=True)
    Thread.objects.filter(pk=thread_id).update(unread_count=0)


def mark_receipt_checked(message_id: str, at: datetime) -> None:
    Message.objects.filter(pk=message_id).update(receipt_checked_at=at)


# --- waking: the enqueue lease and early wake-ups --------------------------------------------------

# A row the sweep (or a countdown) enqueued is not enqueued again for this long.
ENQUEUE_LEASE = timedelta(seconds=60)


def dispatch_at(message_id: str, at: datetime, *, now: datetime | None = None) -> None:
    """Wake a worker at `at` if that is soon; otherwise the due-messages sweep will."""
    now = now or timezone.now()
    delay = (at - now).total_seconds()
    if delay > wake.MAX_COUNTDOWN_SECONDS:
        return
    try:
        wake.publish(wake.DISPATCH, message_id, countdown=max(0.0, delay))
    except Exception as exc:  # broker down: the sweep picks the row up once it is back
        log.warning("message.enqueue_failed", messageId=message_id, error=str(exc))
        release_enqueue_lease([message_id])


def release_enqueue_lease(message_ids: list[str]) -> None:
    """Not enqueued after all (the broker refused): the next sweep may take these rows."""
    Message.objects.filter(pk__in=message_ids).update(enqueued_at=None)


def claim_due_batch(*, now: datetime, batch_size: int) -> list[str]:
    """Lease up to batch_size due rows (`enqueued_at = now`); their ids oldest-created first (per-line FIFO).

    The partial index on next_attempt_at holds only claimable rows, and SKIP LOCKED lets two sweeps
    (two beats started by mistake) never lease the same row.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f'WITH due AS (SELECT id FROM "{_TABLE}" '
            "WHERE status IN ('pending', 'queued', 'scheduled') AND next_attempt_at <= %s "
            "AND (enqueued_at IS NULL OR enqueued_at < %s) "
            "ORDER BY next_attempt_at, id LIMIT %s FOR UPDATE SKIP LOCKED) "
            f'UPDATE "{_TABLE}" m SET enqueued_at = %s FROM due WHERE m.id = due.id '
            "RETURNING m.id, m.next_attempt_at",
            [now, now - ENQUEUE_LEASE, batch_size, now],
        )
        rows = cursor.fetchall()
    return sorted(row[0] for row in rows)  # ids are time-ordered: creation order


def wake_early(message_id: str, *, at: datetime, reason: str | None = None) -> bool:
    """Move a waiting message's next attempt forward to `at` (its turn came sooner than estimated)."""
    query = Message.objects.filter(pk=message_id, status=Status.QUEUED, next_attempt_at__gt=at)
    if reason is not None:
        query = query.filter(queued_reason=reason)
    return bool(query.update(next_attempt_at=at, enqueued_at=None))


def wake_lines_healed(*, device_id: str, at: datetime) -> int:
    """The device's relay answers again: messages waiting on its lines' health may go now."""
    return Message.objects.filter(line__device_id=device_id, status=Status.QUEUED,
                                  queued_reason=QueuedReason.LINE_UNHEALTHY).update(next_attempt_at=at,
                                                                                    enqueued_at=None)


# --- the fallback SMS (fallback_sms_* columns) ------------------------------------------------------
# '' → pending (requested, durable in the caller's transaction) → sending (claimed: exactly one caller
# talks to the provider) → sent | failed, then delivered | failed from the provider's callbacks.

CLAIMABLE_FALLBACK = ("", FallbackStatus.PENDING)
# Progress; delivered and failed are both final (neither overrides the other).
FALLBACK_RANK = {"": 0, FallbackStatus.PENDING: 0, FallbackStatus.SENDING: 1, FallbackStatus.SENT: 2,
                 FallbackStatus.DELIVERED: 3, FallbackStatus.FAILED: 3}


def fallback_mark_requested(message_id: str) -> bool:
    return bool(Message.objects.filter(pk=message_id, fallback_sms_status="").update(
        fallback_sms_status=FallbackStatus.PENDING))


def fallback_claim(message_id: str) -> bool:
    """Exactly one caller wins. Durable: the claim must commit before the provider call, so no
    caller transaction may wrap it."""
    with transaction.atomic(durable=True):
        return Message.objects.filter(pk=message_id, fallback_sms_status__in=CLAIMABLE_FALLBACK).update(
            fallback_sms_status=FallbackStatus.SENDING, fallback_error="", updated_at=timezone.now()) == 1


def fallback_finish(message_id: str, *, status: str, fields: dict[str, Any], detail: dict[str, Any],
                    now: datetime) -> None:
    """The claimant's result (short transaction, no I/O): only a row still 'sending' is written."""
    with transaction.atomic():
        Message.objects.filter(pk=message_id, fallback_sms_status=FallbackStatus.SENDING).update(
            fallback_sms_status=status, updated_at=now, **fields)
        record_fact(message_id, reason=f"fallback_sms_{status}", detail=detail, now=now)


def fallback_release(message_id: str, *, error: str) -> bool:
    """The claimant hands the fallback back (a web request that made its one try): `pending` again."""
    return bool(Message.objects.filter(pk=message_id, fallback_sms_status=FallbackStatus.SENDING).update(
        fallback_sms_status=FallbackStatus.PENDING, fallback_error=error[:2000], updated_at=timezone.now()))


def fallback_advance(message_id: str, *, status: str, fields: dict[str, Any], fact: str, detail: dict[str, Any],
                     now: datetime) -> bool:
    """A provider callback: move forward only (furthest status wins); final states get a timeline entry."""
    behind = [s for s, r in FALLBACK_RANK.items() if r < FALLBACK_RANK[status]]
    with transaction.atomic():
        changed = Message.objects.filter(pk=message_id, fallback_sms_status__in=behind).update(
            fallback_sms_status=status, updated_at=now, **fields)
        if changed and fact:
            record_fact(message_id, reason=fact, now=now, detail=detail)
    return bool(changed)


def fallback_renew_request(message_id: str, now: datetime) -> bool:
    """A pending fallback whose task may have been lost: take it for one more enqueue (sweep)."""
    return bool(Message.objects.filter(pk=message_id, fallback_sms_status=FallbackStatus.PENDING).update(
        updated_at=now))


FALLBACK_UNKNOWN = "fallback outcome unknown: the worker stopped mid-send; not resent to avoid a duplicate"


def fallback_close_stuck(*, now: datetime, stuck_since: datetime, limit: int = 500) -> int:
    """Fallbacks left 'sending' by a worker that died mid-call: closed as failed, never resent (at most
    once beats twice), each with its timeline entry."""
    closed = 0
    stuck = list(Message.objects.filter(fallback_sms_status=FallbackStatus.SENDING, updated_at__lt=stuck_since)
                 .values_list("id", flat=True)[:limit])
    for message_id in stuck:
        with transaction.atomic():
            if Message.objects.filter(pk=message_id, fallback_sms_status=FallbackStatus.SENDING,
                                      updated_at__lt=stuck_since).update(
                    fallback_sms_status=FallbackStatus.FAILED, updated_at=now, fallback_error=FALLBACK_UNKNOWN):
                record_fact(message_id, reason="fallback_sms_failed", now=now,
                            detail={"error": FALLBACK_UNKNOWN, "errorCode": "FALLBACK_OUTCOME_UNKNOWN"})
                closed += 1
    return closed
