"""The message document on the wire: the spec's camelCase fields, ISO UTC timestamps."""

from __future__ import annotations

from typing import Any

from leads.models import CRM_FIELDS
from messaging.explain import expected_next_attempt, explanation_for
from messaging.models import Message
from tuco.timefmt import iso


def _nz(value: str) -> str | None:
    return value or None


def message_document(m: Message) -> dict[str, Any]:
    return {
        "_id": m.pk,
        "message": m.body,
        "subject": _nz(m.subject),
        "messageType": m.message_type,
        "status": m.status,
        "direction": m.direction,
        "queuedReason": _nz(m.queued_reason),
        "nextAttemptAt": iso(expected_next_attempt(m)) if m.queued_reason else None,
        "statusExplanation": explanation_for(m),
        "fromLineId": m.line_id,
        "fromLinePhone": _nz(m.from_line_phone),
        "fromLineEmail": _nz(m.from_line_email),
        "recipientPhone": _nz(m.recipient_phone),
        "recipientEmail": _nz(m.recipient_email),
        "recipientName": _nz(m.recipient_name),
        "sendToAddress": _nz(m.send_to_address),
        "leadId": m.lead_id,
        "threadId": m.thread_id,
        "workspaceId": m.workspace_id,
        "batchId": _nz(m.batch_id),
        "campaignId": _nz(m.campaign_id),
        "stepIndex": m.step_index,
        "correlationId": _nz(m.correlation_id),
        "executionId": _nz(m.execution_id),
        "ghlWorkflowId": _nz(m.ghl_workflow_id),
        **{key: _nz(getattr(m, column)) for key, column in CRM_FIELDS.items()},
        "createdByUserId": m.created_by_id,
        "scheduledDate": iso(m.scheduled_date),
        "timezone": _nz(m.timezone),
        "sendWindowStart": _nz(m.send_window_start),
        "sendWindowEnd": _nz(m.send_window_end),
        "allowedDaysOfWeek": m.allowed_days_of_week,
        "sendFallbackSmsOnFailed": m.send_fallback_sms_on_failed,
        "forceFallback": m.force_fallback,
        "attachmentUrls": m.attachment_urls,
        "attachmentNames": m.attachment_names,
        "attemptCount": m.attempt_count,
        "sentAt": iso(m.sent_at),
        "deliveredAt": iso(m.delivered_at),
        "readAt": iso(m.read_at),
        "externalMessageId": _nz(m.external_message_id),
        "error": _nz(m.error),
        "errorMessage": _nz(m.error),
        "errorCode": _nz(m.error_code),
        "reason": _nz(m.fallback_reason),
        "checkedAddresses": m.checked_addresses,
        "availabilityFromCache": m.availability_from_cache,
        "fallbackSmsStatus": _nz(m.fallback_sms_status),
        "fallbackProvider": _nz(m.fallback_provider),
        "fallbackExternalId": _nz(m.fallback_external_id),
        "fallbackError": _nz(m.fallback_error),
        "replyToMessageId": m.reply_to_id,
        "createdAt": iso(m.created_at),
        "updatedAt": iso(m.updated_at),
    }
