"""Twilio delivery updates, normalized and applied with "furthest status wins".

A MessageSid is either a fallback SMS (`Message.fallback_external_id`, we own
the `fallback_*` columns) or an sms-type message (`Message.external_message_id`,
moved through messaging.lifecycle). Callbacks arrive out of order and more
than once; every write is a guarded UPDATE that only moves forward.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from fallback.providers.twilio import OPT_OUT_CODE, STATUS_MAP, describe_error
from leads.dnc import dnc_add
from messaging import lifecycle
from messaging.models import Direction, FallbackStatus, Message, MessageType, Status
from tuco.logging import get_logger
from tuco.models import Workspace

log = get_logger(__name__)

# Fallback SMS progress; delivered and failed are both final (neither overrides the other).
FALLBACK_RANK = {"": 0, FallbackStatus.PENDING: 0, FallbackStatus.SENDING: 1, FallbackStatus.SENT: 2,
                 FallbackStatus.DELIVERED: 3, FallbackStatus.FAILED: 3}


@dataclass(frozen=True)
class StatusUpdate:
    """One normalized delivery update."""

    workspace_id: str
    message_sid: str
    status: str  # sending | sent | delivered | failed (ours)
    provider_status: str  # Twilio's word
    error_code: str = ""  # Twilio ErrorCode, digits, or ""

    @property
    def error_text(self) -> str:
        if self.error_code:
            return describe_error(self.error_code)
        return f"Twilio reported the SMS {self.provider_status}"


def normalize_twilio(*, workspace_id: str, params: dict[str, str]) -> StatusUpdate | None:
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    raw = (params.get("MessageStatus") or params.get("SmsStatus") or "").lower()
    status = STATUS_MAP.get(raw)
    if not sid or status is None:
        return None
    code = (params.get("ErrorCode") or "").strip()
    return StatusUpdate(workspace_id=workspace_id, message_sid=sid, status=status, provider_status=raw,
                        error_code=code if code.isdigit() and code != "0" else "")


def status_update_apply(update: StatusUpdate) -> str:
    """Apply one update; returns what happened: fallback | message | stale | unknown."""
    fallback = Message.objects.filter(workspace_id=update.workspace_id, fallback_provider="twilio",
                                      fallback_external_id=update.message_sid).first()
    if fallback is not None:
        return _apply_fallback(fallback, update)
    message = Message.objects.filter(workspace_id=update.workspace_id, message_type=MessageType.SMS,
                                     direction=Direction.OUTBOUND, external_message_id=update.message_sid).first()
    if message is not None:
        return _apply_sms(message, update)
    log.info("twilio.status_unknown_sid", workspaceId=update.workspace_id, messageSid=update.message_sid,
             status=update.provider_status)
    return "unknown"


def _opt_out(message: Message, update: StatusUpdate, address: str) -> None:
    if update.error_code == str(OPT_OUT_CODE) and address:
        dnc_add(workspace=Workspace.objects.get(pk=message.workspace_id), address=address,
                reason="carrier_opt_out", source_message_id=message.pk)


def _apply_fallback(message: Message, update: StatusUpdate) -> str:
    rank = FALLBACK_RANK[update.status]
    behind = [s for s, r in FALLBACK_RANK.items() if r < rank]
    now = timezone.now()
    fields: dict[str, object] = {"fallback_sms_status": update.status, "updated_at": now}
    if update.status == FallbackStatus.DELIVERED:
        fields["fallback_delivered_at"] = now
    if update.status == FallbackStatus.FAILED:
        fields["fallback_error"] = update.error_text
    with transaction.atomic():
        changed = Message.objects.filter(pk=message.pk, fallback_sms_status__in=behind).update(**fields)
        if changed and update.status in (FallbackStatus.DELIVERED, FallbackStatus.FAILED):
            delivered = update.status == FallbackStatus.DELIVERED
            reason = "fallback_sms_delivered" if delivered else "fallback_sms_undelivered"
            lifecycle.record_fact(message.pk, reason=reason, now=now, detail={
                "provider": "twilio", "externalId": update.message_sid, "providerStatus": update.provider_status,
                "errorCode": update.error_code or None})
    if update.status == FallbackStatus.FAILED:
        _opt_out(message, update, message.recipient_phone)
    log.info("twilio.fallback_status", messageId=message.pk, workspaceId=message.workspace_id,
             status=update.provider_status, applied=bool(changed), errorCode=update.error_code or None)
    return "fallback" if changed else "stale"


def _apply_sms(message: Message, update: StatusUpdate) -> str:
    moved: Message | None = None
    if update.status == "delivered":
        moved = lifecycle.transition(message.pk, to=Status.DELIVERED, allowed_from=(Status.SENT,),
                                     reason="twilio_delivered", fields={"delivered_at": timezone.now()},
                                     detail={"messageSid": update.message_sid})
    elif update.status == "failed":
        code = f"TWILIO_{update.error_code}" if update.error_code else f"TWILIO_{update.provider_status.upper()}"
        moved = lifecycle.transition(message.pk, to=Status.FAILED, allowed_from=(Status.SENT,),
                                     reason="twilio_undelivered",
                                     fields={"error": update.error_text, "error_code": code},
                                     detail={"messageSid": update.message_sid, "errorCode": update.error_code or None})
        _opt_out(message, update, message.send_to_address or message.recipient_phone)
    log.info("twilio.sms_status", messageId=message.pk, workspaceId=message.workspace_id,
             status=update.provider_status, applied=moved is not None)
    return "message" if moved is not None else "stale"
