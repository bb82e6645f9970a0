"""message_create: turn a validated send request into one committed message row.

No network I/O to a relay happens here: the row commits, then the dispatch
task is enqueued on commit (messaging.send.worker.enqueue_dispatch). Everything that can reject
the request runs before the transaction, so a rejected request writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial

from django.db import transaction
from django.utils import timezone

from fallback.models import FallbackConfig
from leads.models import CRM_FIELDS, Lead
from leads.services import LeadContact, lead_get, lead_resolve_for_send
from lines.models import Line
from messaging.attachments.uploads import attachment_urls_check_ownership
from messaging.dedup import dedup_claim, dedup_reassign, fingerprint
from messaging.models import Direction, Message, QueuedReason, Status
from messaging.send import state
from messaging.send.pacing import active_lines, channel_for_message_type, line_round_robin
from messaging.send.worker import enqueue_dispatch
from messaging.send_input import NO_ACTIVE_LINES, RECIPIENT_REQUIRED, SendRequest
from messaging.threads import thread_set_line, thread_touch
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
    with transaction.atomic():
        original_id = dedup_claim(workspace_id=workspace.pk, fingerprint=claim, message_id=message_id, now=now)
        if original_id is not None:
            original = Message.objects.filter(pk=original_id).first()
            if original is not None:
                age = max(0, int((now - original.created_at).total_seconds()))
                log.info("message.duplicate_blocked", messageId=original.pk, ageSeconds=age)
                return CreateResult(message=original, created=False, duplicate_age_seconds=age,
                                    lead_existed=original.lead_id is not None)
            dedup_reassign(workspace_id=workspace.pk, fingerprint=claim, message_id=message_id, now=now)

        lead, lead_existed = lead_resolve_for_send(
            workspace=workspace, lead_id=request.lead_id,
            contact=LeadContact(phone=request.recipient_phone, email=request.recipient_email,
                                name=request.recipient_name, alt_phones=request.alt_phones,
                                alt_emails=request.alt_emails, crm=request.crm),
        )
        send_to = _send_to(request.message_type, phone, email)
        line = pinned or (line_round_robin(workspace_id=workspace.pk, lines=candidates) if candidates else None)
        thread = thread_touch(workspace_id=workspace.pk, address=send_to, lead_id=lead.pk,
                              line_id=line.pk if line else None, preview=request.body, direction=Direction.OUTBOUND,
                              at=now)
        if pinned is None and candidates:
            by_id = {c.pk: c for c in candidates}
            if thread.line_id in by_id:
                line = by_id[thread.line_id]  # sticky sender: the recipient keeps its line
            elif line is not None and thread.line_id != line.pk:
                thread_set_line(thread_id=thread.id, line_id=line.pk)

        status, reason = _initial_status(request, now)
        message = Message.objects.create(
            id=message_id, workspace=workspace, thread_id=thread.id, lead=lead, line=line,
            line_pinned=pinned is not None, direction=Direction.OUTBOUND, message_type=request.message_type,
            body=request.body, status=status, queued_reason=reason,
            next_attempt_at=request.scheduled_date if status == Status.SCHEDULED else now,
            # The on-commit wake-up below counts as enqueued: the sweep leaves the row alone for its lease.
            enqueued_at=now if enqueue and status == Status.PENDING else None,
            recipient_phone=phone, recipient_email=email,
            recipient_name=request.recipient_name or lead.full_name, send_to_address=send_to,
            from_line_phone=line.phone if line else "", from_line_email=line.email if line else "",
            batch_id=request.batch_id, correlation_id=context.correlation_id,
            execution_id=context.execution_id, ghl_workflow_id=context.ghl_workflow_id,
            scheduled_date=request.scheduled_date, timezone=request.timezone,
            send_window_start=request.send_window_start, send_window_end=request.send_window_end,
            allowed_days_of_week=request.allowed_days_of_week,
            send_fallback_sms_on_failed=request.send_fallback_sms_on_failed,
            force_fallback=request.force_fallback, attachment_urls=request.attachment_urls, subject=request.subject,
            attachment_names=request.attachment_names, created_by_id=context.created_by_user_id,
            **{column: getattr(lead, column) for column in CRM_FIELDS.values()},
        )
        state.record_created(message, detail={"correlationId": context.correlation_id})
        if enqueue:
            transaction.on_commit(partial(enqueue_dispatch, message.pk))
    log.info("message.api.create_message_returned", messageId=message.pk, lineId=message.line_id,
             status=message.status, leadId=lead.pk)
    return CreateResult(message=message, created=True, lead_existed=lead_existed)
