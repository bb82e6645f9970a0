"""Relay (BlueBubbles) events → our rows: confirmations, delivery, read, send errors, replies.

Furthest status wins (the lifecycle guards refuse backward moves), unknown
guids are ignored, and every handler is idempotent: a relay posts each event
to every line registered on it, and BlueBubbles may repeat events.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from leads.dnc import dnc_entry_add, is_opt_out
from leads.models import Lead
from lines.models import Line
from lines.relay.base import relay_for_device
from lines.relay.errors import RelayError
from messaging import lifecycle
from messaging.models import Direction, Message, SendAttempt, Status, Thread
from messaging.outcomes import individual_policy, mark_sent, retry_or_fail
from messaging.threads import thread_touch
from tuco.addresses import InvalidAddress, normalize_address
from tuco.db import insert_or_nothing
from tuco.logging import get_logger

log = get_logger(__name__)


def _ms(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC) if value else None
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def relay_event_received(*, line: Line, event_type: str, data: dict[str, Any]) -> str:
    if not isinstance(data, dict):
        return "ignored"
    if event_type == "new-message":
        if data.get("isFromMe"):
            return _outgoing_seen(line, data)
        return _inbound_message(line, data)
    if event_type == "updated-message":
        return _outgoing_updated(line, data) if data.get("isFromMe", True) else "ignored"
    if event_type == "message-send-error":
        return _send_error(line, data)
    return "ignored"


def _message_by_guid(line: Line, guid: str) -> Message | None:
    if not guid:
        return None
    return Message.objects.filter(workspace_id=line.workspace_id, external_message_id=guid,
                                  direction=Direction.OUTBOUND).first()


def _outgoing_seen(line: Line, data: dict[str, Any]) -> str:
    """The device wrote our outgoing row. With a tempGuid it confirms a send still in flight."""
    guid, temp_guid = str(data.get("guid") or ""), str(data.get("tempGuid") or "")
    news = any(data.get(k) for k in ("isDelivered", "dateDelivered", "dateRead", "error"))
    if not temp_guid and not news:
        return "ignored"  # the first, bare copy of every send: the tempGuid copy carries the news
    if temp_guid:
        attempt = SendAttempt.objects.filter(temp_guid=temp_guid, line__workspace_id=line.workspace_id).first()
        if attempt is not None and attempt.outcome == SendAttempt.Outcome.SENT and attempt.external_id == guid \
                and not news:
            return "noop"  # the worker already recorded this send from the relay's answer
        if attempt is not None and guid:
            SendAttempt.objects.filter(pk=attempt.pk, external_id="").update(external_id=guid)
            if not data.get("error") and mark_sent(attempt.message_id, guid=guid, via="relay_webhook",
                                                   attempt_id=attempt.pk):
                return "confirmed"
    # BlueBubbles re-announces changes to rows older than its 1 h cache as new-message.
    known = _message_by_guid(line, guid)
    return _outgoing_updated(line, data, message=known) if known is not None else "ignored"


def _outgoing_updated(line: Line, data: dict[str, Any], *, message: Message | None = None) -> str:
    message = message or _message_by_guid(line, str(data.get("guid") or ""))
    if message is None:
        return "unknown"
    result = "noop"
    if data.get("isDelivered") or data.get("dateDelivered"):
        delivered_at = _ms(data.get("dateDelivered")) or timezone.now()
        fields: dict[str, Any] = {"delivered_at": delivered_at}
        if message.sent_at is None:
            fields["sent_at"] = delivered_at
        if lifecycle.transition(message.pk, to=Status.DELIVERED, allowed_from=(Status.SENDING, Status.SENT),
                                reason="device_delivered", fields={**fields, "sending_since": None}):
            result = "delivered"
            if message.message_type == "imessage" and message.send_to_address:
                # Delivered over iMessage proves availability better than any check.
                from lines.availability import cache_put

                cache_put(workspace_id=line.workspace_id, address=message.send_to_address, available=True,
                          line_id=line.pk, now=delivered_at)
    read_at = _ms(data.get("dateRead"))
    if read_at and message.read_at is None:
        with transaction.atomic():
            if Message.objects.filter(pk=message.pk, read_at__isnull=True).update(read_at=read_at):
                lifecycle.record_fact(message.pk, reason="read", detail={"readAt": read_at.isoformat()})
                lifecycle.emit_webhook_for(Message.objects.get(pk=message.pk), "message.opened")
                result = "read"
    return result


def _send_error(line: Line, data: dict[str, Any]) -> str:
    """The device marked an outgoing row failed after it had been accepted: verify, then retry or fail."""
    guid = str(data.get("guid") or "")
    message = _message_by_guid(line, guid)
    if message is None and data.get("tempGuid"):
        attempt = SendAttempt.objects.filter(temp_guid=str(data["tempGuid"])).first()
        message = Message.objects.filter(pk=attempt.message_id).first() if attempt else None
    if message is None or message.status not in (Status.SENT, Status.SENDING):
        return "ignored"
    if message.status == Status.SENDING:
        return "verifying"  # the attempt's own verification sees the error on the device
    try:
        row = relay_for_device(line.device).get_message(guid=guid) if line.device and guid else None
    except RelayError as exc:
        log.warning("message.send_error.verify_failed", messageId=message.pk, error=str(exc))
        row = None
    code = (row.error if row is not None else None) or data.get("error")
    if not code:
        return "not_confirmed"
    SendAttempt.objects.filter(message_id=message.pk, external_id=guid).update(
        outcome=SendAttempt.Outcome.NOT_SENT, error_class="device_error", error=f"device error {code}")
    log.warning("message.device_send_error", messageId=message.pk, guid=guid, errorCode=code,
                correlationId=message.correlation_id)
    # The errored part did not go out: forget it, so the retry sends it again (parts that did go stay sent).
    still_sent = {key: part_guid for key, part_guid in (message.parts_sent or {}).items() if part_guid != guid}
    Message.objects.filter(pk=message.pk, status=Status.SENT).update(parts_sent=still_sent, external_message_id="",
                                                                     sent_at=None)
    retry_or_fail(message, error=f"device reported error {code} after accepting the message", code="DEVICE_ERROR",
                  policy=individual_policy(), from_statuses=(Status.SENT,))
    return "retrying"


def _thread_for_inbound(workspace_id: str, address: str) -> tuple[str | None, str | None]:
    """(thread id, lead id) an inbound message from `address` belongs to."""
    thread = Thread.objects.filter(workspace_id=workspace_id, address=address).first()
    if thread:
        return thread.pk, thread.lead_id
    sent_to = (Message.objects.filter(workspace_id=workspace_id, direction=Direction.OUTBOUND, send_to_address=address)
               .order_by("-created_at").values_list("thread_id", "lead_id").first())
    if sent_to and sent_to[0]:
        return sent_to
    contact = Q(phone=address) | Q(alt_phone1=address) | Q(alt_phone2=address) | Q(alt_phone3=address) | \
        Q(email=address) | Q(alt_email1=address) | Q(alt_email2=address) | Q(alt_email3=address)
    lead = Lead.objects.filter(workspace_id=workspace_id).filter(contact).order_by("created_at").first()
    if lead:
        latest = Thread.objects.filter(workspace_id=workspace_id, lead=lead).order_by("-last_message_at").first()
        return (latest.pk if latest else None), lead.pk
    return None, None


def _inbound_message(line: Line, data: dict[str, Any]) -> str:
    handle = data.get("handle")
    raw_address = str(handle.get("address") or "") if isinstance(handle, dict) else ""
    guid = str(data.get("guid") or "")
    if not raw_address or not guid:
        return "ignored"
    listed = data.get("attachments")
    attachments = [str(a.get("transferName") or a.get("guid") or "") for a in listed
                   if isinstance(a, dict)] if isinstance(listed, list) else []
    return inbound_store(workspace_id=line.workspace_id, line=line, raw_address=raw_address,
                         text=str(data.get("text") or ""), external_id=guid, message_type="imessage",
                         received_at=_ms(data.get("dateCreated")), attachment_names=attachments)


def _answered_email(workspace_id: str, answers: Sequence[str]) -> Message | None:
    """Our outbound email an email reply names in In-Reply-To/References (nearest first)."""
    if not answers:
        return None
    found = {m.email_message_id: m for m in Message.objects.filter(
        workspace_id=workspace_id, direction=Direction.OUTBOUND, email_message_id__in=list(answers))}
    return next((found[a] for a in answers if a in found), None)


def _max_length(field: str) -> int:
    return Message._meta.get_field(field).max_length or 0


def _storable(address: str, external_id: str) -> bool:
    """Whether the sender and provider id fit their columns. No real phone number, email address or provider id
    is longer; a callback that claims one is answered "ignored" rather than failing the insert."""
    column = "recipient_email" if "@" in address else "recipient_phone"
    return len(address) <= _max_length(column) and len(external_id) <= _max_length("external_message_id")


def inbound_store(*, workspace_id: str, line: Line | None, raw_address: str, text: str, external_id: str,
                  message_type: str, received_at: datetime | None = None,
                  attachment_names: list[str] | None = None, answers: Sequence[str] = (), subject: str = "") -> str:
    """A recipient wrote to us (iMessage via a relay, SMS via Twilio, email): store it once on their
    thread, link it to the lead and the message it answers (an email's In-Reply-To/References, else
    the thread's last outbound message), fire message.reply, honour opt-outs."""
    try:
        address = normalize_address(raw_address, default_region="US")
    except InvalidAddress:
        address = raw_address.strip().lower()
    if not _storable(address, external_id):
        log.warning("inbound.unstorable", workspaceId=workspace_id, messageType=message_type,
                    addressChars=len(address), externalIdChars=len(external_id))
        return "ignored"
    received_at = received_at or timezone.now()
    answered = _answered_email(workspace_id, answers)
    if answered is not None and answered.thread_id:
        thread_id, lead_id = answered.thread_id, answered.lead_id  # even from another address of theirs
    else:
        thread_id, lead_id = _thread_for_inbound(workspace_id, address)
    thread = thread_touch(workspace_id=workspace_id, address=thread_address(thread_id, address),
                          lead_id=lead_id, line_id=line.pk if line else None, preview=text,
                          direction=Direction.INBOUND, at=received_at, unread_increment=0)
    parent = answered or (Message.objects.filter(thread_id=thread.id, direction=Direction.OUTBOUND)
                          .exclude(status__in=(Status.CANCELLED,)).order_by("-created_at").first())
    if line is None and parent is not None:
        line = parent.line
    message = Message(
        workspace_id=workspace_id, thread_id=thread.id, lead_id=lead_id, line=line, direction=Direction.INBOUND,
        message_type=message_type, body=text, status=Status.RECEIVED, external_message_id=external_id,
        recipient_phone=address if "@" not in address else "", recipient_email=address if "@" in address else "",
        send_to_address=address, from_line_phone=line.phone if line else "",
        from_line_email=line.email if line else "",
        correlation_id=parent.correlation_id if parent else "", reply_to=parent,
        attachment_names=attachment_names or [], subject=subject,
    )
    with transaction.atomic():
        if not insert_or_nothing(message):
            return "duplicate"
        Thread.objects.filter(pk=thread.id).update(unread_count=F("unread_count") + 1)
        lifecycle.record_created(message, detail={"externalId": external_id, "from": address,
                                                  "channel": message_type})
        lifecycle.emit_webhook_for(message, "message.reply")
        if is_opt_out(text):
            # With the reply, in its transaction, under the address the reply is stored under: a retried
            # delivery answers "duplicate", so an opt-out recorded any later could be lost for good.
            from tuco.models import Workspace

            dnc_entry_add(workspace=Workspace.objects.get(pk=workspace_id), address=address[:254],
                          reason="opt_out_reply", source_message_id=message.pk)
    log.info("message.reply.received", messageId=message.pk, lineId=line.pk if line else None,
             replyTo=parent.pk if parent else None, workspaceId=workspace_id, channel=message_type,
             correlationId=message.correlation_id)
    return "received"


def thread_address(thread_id: str | None, address: str) -> str:
    if thread_id is None:
        return address
    return Thread.objects.values_list("address", flat=True).get(pk=thread_id)
