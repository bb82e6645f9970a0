"""message_create: turn a validated send request into one committed message row.

No network I/O to a relay happens here: the row commits, then the dispatch
task is enqueued on commit (messaging.send.worker.enqueue_dispatch). Everything that can reject
the request runs before the write, so a rejected request writes nothing. The write itself — duplicate
claim, lead, thread, message, first event — is one SQL statement (messaging.services.create_sql).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from fallback.models import FallbackConfig
from leads.models import Lead
from leads.services import LeadContact, lead_get, quick_sends_list_id, split_name
from lines.models import Line
from messaging.attachments.uploads import attachment_urls_check_ownership
from messaging.dedup import fingerprint
from messaging.models import Direction, Message, QueuedReason, Status
from messaging.send.pacing import active_lines, channel_for_message_type, line_round_robin
from messaging.send.worker import enqueue_dispatch
from messaging.send_input import NO_ACTIVE_LINES, RECIPIENT_REQUIRED, SendRequest
from messaging.services.create_sql import RETRIES, LeadSpec, LineSpec, write_message
from tuco.errors import ApiError, BadRequest, NotFound
from tuco.ids import is_object_id, new_id
from tuco.logging import get_logger
from tuco.models import Workspace

log = get_logger(__name__)

LINE_NOT_FOUND = "Line not found or inactive"
FALLBACK_NOT_CONFIGURED = (
    "sendFallbackSmsOnFailed is true but no fallback is configured for this workspace. "
    "Configure one with PATCH /api/workspace/fallback-config."
)


@dataclass
class CreateResult:
    message: Message
    created: bool
    duplicate_age_seconds: int = 0
    lead_existed: bool = False  # the recipient matched a lead the workspace already had


@dataclass
class SendContext:
    """Request metadata that is not part of the JSON body."""

    correlation_id: str
    execution_id: str = ""
    ghl_workflow_id: str = ""
    created_by_user_id: int | None = None  # the operator sending from the Unibox or the admin


def _pinned_line(*, workspace: Workspace, line_id: str, channel: str | None) -> Line:
    line = None
    if is_object_id(line_id):
        line = Line.objects.filter(workspace=workspace, pk=line_id, is_active=True).first()
    if line is None or (channel and line.channel_type != channel):
        raise NotFound(LINE_NOT_FOUND, code="LINE_NOT_FOUND")
    return line


def _addresses(request: SendRequest, lead: Lead | None) -> tuple[str, str]:
    """(phone, email) for this send: the body's recipient wins over the lead's stored contact."""
    if request.recipient_phone or request.recipient_email:
        return request.recipient_phone, request.recipient_email
    if lead is not None:
        return lead.phone or (lead.phones()[:1] or [""])[0], lead.email or (lead.emails()[:1] or [""])[0]
    return "", ""


def _send_to(message_type: str, phone: str, email: str) -> str:
    if message_type == "email":
        return email
    if message_type == "sms":
        return phone
    return phone or email


def _require_recipient(message_type: str, phone: str, email: str) -> None:
    if not phone and not email:
        raise BadRequest(RECIPIENT_REQUIRED)
    if message_type == "email" and not email:
        raise BadRequest("recipientEmail is required for email messages (none on the request or the lead)",
                         code="RECIPIENT_REQUIRED")
    if message_type == "sms" and not phone:
        raise BadRequest("recipientPhone is required for sms messages (none on the request or the lead)",
                         code="RECIPIENT_REQUIRED")


def _check_fallback_configured(workspace: Workspace, request: SendRequest) -> None:
    if request.send_fallback_sms_on_failed is not True:
        return
    config = FallbackConfig.objects.filter(workspace=workspace).first()
    if config is None or not config.is_configured:
        raise ApiError(FALLBACK_NOT_CONFIGURED, code="FALLBACK_NOT_CONFIGURED")


def _initial_status(request: SendRequest, now: datetime) -> tuple[str, str]:
    if request.scheduled_date and request.scheduled_date > now:
        return Status.SCHEDULED, QueuedReason.SCHEDULED
    return Status.PENDING, ""


def message_create(*, workspace: Workspace, request: SendRequest, context: SendContext,
                   now: datetime | None = None, enqueue: bool = True) -> CreateResult:
    """Create the message (or return the live duplicate). `enqueue=False` leaves waking a worker to the
    caller (forceFallback dispatches in the request); the row is due either way, so the sweep finds it."""
    now = now or timezone.now()
    channel = channel_for_message_type(request.message_type)
    pinned: Line | None = None
    candidates: list[Line] = []
    if request.from_line_id:
        pinned = _pinned_line(workspace=workspace, line_id=request.from_line_id, channel=channel)
    elif channel and not request.force_fallback:
        candidates = active_lines(workspace_id=workspace.pk, channel=channel)
        if not candidates:
            raise BadRequest(NO_ACTIVE_LINES)
    given_lead = lead_get(workspace=workspace, lead_id=request.lead_id) if request.lead_id else None
    phone, email = _addresses(request, given_lead)
    _require_recipient(request.message_type, phone, email)
    _check_fallback_configured(workspace, request)
    if request.attachment_urls:
        attachment_urls_check_ownership(workspace=workspace, urls=request.attachment_urls)

    message_id = new_id()
    claim = fingerprint(phone=phone, email=email, body=request.body, attachment_urls=request.attachment_urls)
    send_to = _send_to(request.message_type, phone, email)
    line = pinned or (line_round_robin(workspace_id=workspace.pk, lines=candidates) if candidates else None)
    status, reason = _initial_status(request, now)
    columns = {
        "id": message_id, "workspace_id": workspace.pk, "line_pinned": pinned is not None,
        "direction": Direction.OUTBOUND, "message_type": request.message_type, "body": request.body,
        "status": status, "queued_reason": reason,
        "next_attempt_at": request.scheduled_date if status == Status.SCHEDULED else now,
        # The on-commit wake-up below counts as enqueued: the sweep leaves the row alone for its lease.
        "enqueued_at": now if enqueue and status == Status.PENDING else None,
        "recipient_phone": phone, "recipient_email": email, "send_to_address": send_to,
        "batch_id": request.batch_id, "correlation_id": context.correlation_id,
        "execution_id": context.execution_id, "ghl_workflow_id": context.ghl_workflow_id,
        "scheduled_date": request.scheduled_date, "timezone": request.timezone,
        "send_window_start": request.send_window_start, "send_window_end": request.send_window_end,
        "allowed_days_of_week": request.allowed_days_of_week,
        "send_fallback_sms_on_failed": request.send_fallback_sms_on_failed, "force_fallback": request.force_fallback,
        "attachment_urls": request.attachment_urls, "attachment_names": request.attachment_names,
        "subject": request.subject, "created_by_id": context.created_by_user_id,
    }
    contact = LeadContact(phone=request.recipient_phone, email=request.recipient_email, name=request.recipient_name,
                          alt_phones=request.alt_phones, alt_emails=request.alt_emails, crm=request.crm)
    if request.lead_id:
        lead_spec = LeadSpec(workspace_id=workspace.pk, lead_id=request.lead_id, overwrite=contact.alt_updates())
    else:
        first, last = split_name(contact.name)
        lead_spec = LeadSpec(workspace_id=workspace.pk, phone=contact.phone, email=contact.email, first_name=first,
                             last_name=last, overwrite=contact.alt_updates(),
                             list_id=quick_sends_list_id(workspace=workspace))
    lines = [pinned] if pinned is not None else candidates
    line_spec = LineSpec(line_id=line.pk if line else None, pinned=pinned is not None,
                         candidates=[(c.pk, c.phone, c.email) for c in lines])
    for _ in range(RETRIES):
        written = write_message(message=columns, lead=lead_spec, line=line_spec, fingerprint=claim,
                                expires_at=now + timedelta(seconds=settings.TUCO_DEDUP_WINDOW_SECONDS),
                                recipient_name=request.recipient_name, preview=request.body,
                                event_detail={"correlationId": context.correlation_id}, now=now)
        if not written.retry:
            break
    else:
        raise RuntimeError(f"message {message_id}: the write did not settle after {RETRIES} tries")
    if written.duplicate_of is not None:
        original = Message.objects.get(pk=written.duplicate_of)
        age = max(0, int((now - original.created_at).total_seconds()))
        log.info("message.duplicate_blocked", messageId=original.pk, ageSeconds=age)
        return CreateResult(message=original, created=False, duplicate_age_seconds=age,
                            lead_existed=original.lead_id is not None)
    message = written.message
    assert message is not None
    if enqueue:
        transaction.on_commit(partial(enqueue_dispatch, message.pk))  # at once outside a transaction
    log.info("message.api.create_message_returned", messageId=message.pk, lineId=message.line_id,
             status=message.status, leadId=message.lead_id)
    return CreateResult(message=message, created=True, lead_existed=written.lead_existed)
