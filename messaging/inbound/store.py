"""A recipient wrote to us (iMessage via a relay, SMS via Twilio, email): the reply stored once on their
thread, linked to their lead and to the message it answers, `message.reply` fired, opt-outs honoured.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from leads.dnc import dnc_entry_add, is_opt_out
from leads.models import Lead
from lines.models import Line
from messaging.inbound.events import InboundEvent
from messaging.models import Direction, Message, Status, Thread
from messaging.send import state
from messaging.signals import reply_stored
from messaging.threads import thread_touch
from tuco.addresses import InvalidAddress, normalize_address
from tuco.db import insert_or_nothing
from tuco.logging import get_logger
from tuco.models import Workspace

log = get_logger(__name__)


def reply_store(*, workspace_id: str, line: Line | None, event: InboundEvent) -> str:
    """Store the reply an event carries ("received", or "duplicate" for one stored before)."""
    return inbound_store(workspace_id=workspace_id, line=line, raw_address=event.sender, text=event.text,
                         external_id=event.external_id, message_type=event.channel, received_at=event.received_at,
                         attachment_names=event.attachment_names, answers=event.answers, subject=event.subject)


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
        state.record_created(message, detail={"externalId": external_id, "from": address, "channel": message_type})
        state.emit_webhook_for(message, "message.reply")
        opted_out = is_opt_out(text)
        if opted_out:
            # With the reply, in its transaction, under the address the reply is stored under: a retried
            # delivery answers "duplicate", so an opt-out recorded any later could be lost for good.
            dnc_entry_add(workspace=Workspace.objects.get(pk=workspace_id), address=address[:254],
                          reason="opt_out_reply", source_message_id=message.pk)
        reply_stored.send(sender=Message, message=message, opted_out=opted_out)  # campaigns stop on it
    log.info("message.reply.received", messageId=message.pk, lineId=line.pk if line else None,
             replyTo=parent.pk if parent else None, workspaceId=workspace_id, channel=message_type,
             correlationId=message.correlation_id)
    return "received"


def thread_address(thread_id: str | None, address: str) -> str:
    if thread_id is None:
        return address
    return Thread.objects.values_list("address", flat=True).get(pk=thread_id)
