"""A campaign step's message: one committed row per (enrollment, step), sent through the same engine as
every message (pacing, claim, channels, retries, webhooks).

The campaign engine calls this inside its own transaction (the enrollment's next step moves with the
row it creates). A second call for the same (enrollment, step) finds the unique index and returns the
first row: a step is never created twice, whichever sweep gets there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from django.db import IntegrityError, transaction

from leads.models import CRM_FIELDS, Lead
from lines.models import Line
from messaging.models import Direction, Message, MessageType, Status
from messaging.send import state
from messaging.send.worker import enqueue_dispatch
from messaging.threads import thread_touch
from tuco.ids import new_id


@dataclass
class StepMessage:
    campaign_id: str
    enrollment_id: str
    step_index: int
    message_type: str
    body: str
    line: Line
    line_choices: list[str]  # the campaign lines this message may use, `line` first
    subject: str = ""
    attachment_urls: list[str] = field(default_factory=list)
    attachment_names: list[str] = field(default_factory=list)
    timezone: str = ""
    send_window_start: str = ""
    send_window_end: str = ""
    allowed_days_of_week: list[int] | None = None
    send_fallback_sms_on_failed: bool | None = None
    correlation_id: str = ""


def step_address(lead: Lead, message_type: str) -> tuple[str, str, str]:
    """(phone, email, send-to) of the lead for this kind of message; send-to is "" when it has none."""
    phone, email = lead.phone or (lead.phones()[:1] or [""])[0], lead.email or (lead.emails()[:1] or [""])[0]
    if message_type == MessageType.EMAIL:
        return phone, email, email
    if message_type == MessageType.SMS:
        return phone, email, phone
    return phone, email, phone or email


def campaign_message_create(*, workspace_id: str, lead: Lead, step: StepMessage, now: datetime) -> Message | None:
    """The step's message (None: the lead has no address for this channel). Inside the caller's transaction."""
    phone, email, send_to = step_address(lead, step.message_type)
    if not send_to:
        return None
    thread = thread_touch(workspace_id=workspace_id, address=send_to, lead_id=lead.pk, line_id=step.line.pk,
                          preview=step.body, direction=Direction.OUTBOUND, at=now)
    line = step.line
    if thread.line_id and thread.line_id != line.pk and thread.line_id in step.line_choices:
        line = Line.objects.get(pk=thread.line_id)  # sticky sender: the lead keeps the line it hears from
    message = Message(
        id=new_id(), workspace_id=workspace_id, thread_id=thread.id, lead=lead, line=line,
        direction=Direction.OUTBOUND, message_type=step.message_type, body=step.body, subject=step.subject,
        status=Status.PENDING, next_attempt_at=now, enqueued_at=now, recipient_phone=phone,
        recipient_email=email, recipient_name=lead.full_name, send_to_address=send_to,
        from_line_phone=line.phone, from_line_email=line.email, correlation_id=step.correlation_id,
        timezone=step.timezone, send_window_start=step.send_window_start, send_window_end=step.send_window_end,
        allowed_days_of_week=step.allowed_days_of_week, send_fallback_sms_on_failed=step.send_fallback_sms_on_failed,
        attachment_urls=step.attachment_urls, attachment_names=step.attachment_names,
        campaign_id=step.campaign_id, step_index=step.step_index, enrollment_id=step.enrollment_id,
        line_choices=[line.pk, *(pk for pk in step.line_choices if pk != line.pk)],
        **{column: getattr(lead, column) for column in CRM_FIELDS.values()},
    )
    try:
        with transaction.atomic():
            message.save(force_insert=True)
    except IntegrityError:
        return Message.objects.filter(enrollment_id=step.enrollment_id, step_index=step.step_index).first()
    state.record_created(message, detail={"campaignId": step.campaign_id, "stepIndex": step.step_index})
    transaction.on_commit(partial(enqueue_dispatch, message.pk))
    return message
