"""A provider's word on one of our sends → our rows: confirmations, delivery, read, errors.

Furthest status wins (the state machine's guards refuse backward moves), unknown ids are ignored,
and every handler is idempotent: a relay posts each event to every line registered on it and
BlueBubbles may repeat events; Twilio retries and reorders its callbacks.

A Twilio MessageSid is either a fallback SMS (`fallback_external_id`: the `fallback_*` columns) or
an sms-type message (`external_message_id`: its status).
"""

from __future__ import annotations

from django.utils import timezone

from fallback.providers.twilio import OPT_OUT_CODE, describe_error
from leads.dnc import dnc_add
from lines.availability import cache_put
from lines.models import Line
from lines.relay.client import relay_for_device
from messaging.inbound.events import EventType, InboundEvent
from messaging.models import Direction, FallbackStatus, Message, MessageType, SendAttempt, Status
from messaging.send import attempts, state
from messaging.send.channels.email import next_email_address
from messaging.send.outcome import policy_for
from messaging.send.outcomes import fail, retry_or_fail
from tuco.logging import get_logger
from tuco.models import Workspace
from tuco.send_errors import SendError

log = get_logger(__name__)


# --- the relay -----------------------------------------------------------------------------------------

def relay_event_apply(*, line: Line, event: InboundEvent) -> str:
    if event.event_type == EventType.SENT:
        return _device_wrote_our_row(line, event)
    if event.event_type == EventType.UPDATED:
        return _device_row_news(line, event)
    if event.event_type == EventType.FAILED:
        return _device_send_error(line, event)
    return "ignored"


# Every relay event is resolved within the device whose line's secret authenticated the call (a device
# belongs to one workspace and posts each event to every line on it): ids of another workspace, or of
# another Mac, are not ours to touch and answer exactly as unknown ones do.

def _message_by_guid(line: Line, guid: str) -> Message | None:
    if not guid or line.device_id is None:
        return None
    return Message.objects.filter(workspace_id=line.workspace_id, line__device_id=line.device_id,
                                  external_message_id=guid, direction=Direction.OUTBOUND).first()


def _attempt_by_temp_guid(line: Line, temp_guid: str) -> SendAttempt | None:
    if not temp_guid or line.device_id is None:
        return None
    return SendAttempt.objects.filter(temp_guid=temp_guid, line__device_id=line.device_id,
                                      line__workspace_id=line.workspace_id).first()


def _device_wrote_our_row(line: Line, event: InboundEvent) -> str:
    """The device wrote our outgoing row. With a tempGuid it confirms a send still in flight."""
    guid = event.external_id
    if event.temp_guid:
        attempt = _attempt_by_temp_guid(line, event.temp_guid)
        if attempt is not None and attempt.outcome == SendAttempt.Outcome.SENT and attempt.external_id == guid \
                and not event.has_news:
            return "noop"  # the worker already recorded this send from the relay's answer
        if attempt is not None and guid:
            attempts.attempt_learn_guid(attempt.pk, guid)
            if not event.error_code and state.mark_sent(attempt.message_id, guid=guid, via="relay_webhook",
                                                        attempt_id=attempt.pk):
                return "confirmed"
    # BlueBubbles re-announces changes to rows older than its 1 h cache as new-message.
    known = _message_by_guid(line, guid)
    return _device_row_news(line, event, message=known) if known is not None else "ignored"


def _device_row_news(line: Line, event: InboundEvent, *, message: Message | None = None) -> str:
    message = message or _message_by_guid(line, event.external_id)
    if message is None:
        return "unknown"
    result = "noop"
    if event.delivered or event.delivered_at:
        delivered_at = event.delivered_at or timezone.now()
        fields = {"delivered_at": delivered_at, "sending_since": None}
        if message.sent_at is None:
            fields["sent_at"] = delivered_at
        if state.transition(message.pk, to=Status.DELIVERED, allowed_from=(Status.SENDING, Status.SENT),
                            reason="device_delivered", fields=fields):
            result = "delivered"
            if message.message_type == MessageType.IMESSAGE and message.send_to_address:
                # Delivered over iMessage proves availability better than any check.
                cache_put(workspace_id=line.workspace_id, address=message.send_to_address, available=True,
                          line_id=line.pk, now=delivered_at)
    if event.read_at and message.read_at is None and state.record_read(message, event.read_at):
        result = "read"
    return result


def _device_send_error(line: Line, event: InboundEvent) -> str:
    """The device marked an outgoing row failed after it had been accepted: verify, then retry or fail."""
    guid = event.external_id
    message = _message_by_guid(line, guid)
    if message is None:
        attempt = _attempt_by_temp_guid(line, event.temp_guid)
        message = Message.objects.filter(pk=attempt.message_id).first() if attempt else None
    if message is None or message.status not in (Status.SENT, Status.SENDING):
        return "ignored"
    if message.status == Status.SENDING:
        return "verifying"  # the attempt's own verification sees the error on the device
    try:
        row = relay_for_device(line.device, line_id=line.pk).get_message(guid=guid) if line.device and guid else None
    except SendError as exc:
        log.warning("message.send_error.verify_failed", messageId=message.pk, error=str(exc))
        row = None
    code = (row.error if row is not None else None) or event.error_code
    if not code:
        return "not_confirmed"
    attempts.attempts_mark_device_error(message_id=message.pk, guid=guid, code=code)
    log.warning("message.device_send_error", messageId=message.pk, guid=guid, errorCode=code,
                correlationId=message.correlation_id)
    state.forget_errored_part(message, guid)
    retry_or_fail(message, error=f"device reported error {code} after accepting the message", code="DEVICE_ERROR",
                  policy=policy_for(message), from_statuses=(Status.SENT,))
    return "retrying"


# --- email bounces ------------------------------------------------------------------------------------

def email_bounce_apply(*, line: Line, event: InboundEvent) -> str:
    """A hard bounce of one of our emails (found by its Message-ID within the line's workspace): the next
    alternate address gets it, or, with none left, the message fails. Answers "bounced" | "failed" |
    "unknown" | "stale"."""
    message = (Message.objects.select_related("lead")
               .filter(workspace_id=line.workspace_id, direction=Direction.OUTBOUND, message_type=MessageType.EMAIL,
                       email_message_id__in=[a for a in event.answers if a][:20]).first())
    if message is None:
        log.info("email.bounce_unknown", lineId=line.pk, workspaceId=line.workspace_id)
        return "unknown"
    if message.status != Status.SENT or message.send_to_address.lower() != event.sender:
        return "stale"  # already moved on (or the bounce names an address this send did not use)
    attempts.attempts_mark_bounced(message_id=message.pk, address=event.sender, status=event.error_code)
    error = f"email to {event.sender} bounced ({event.error_code}{': ' + event.text if event.text else ''})"
    log.warning("email.bounced", messageId=message.pk, status=event.error_code, correlationId=message.correlation_id)
    alternate = next_email_address(message, event.sender)
    if alternate is not None:
        return "bounced" if state.email_bounced_to(message, address=alternate, error=error) else "stale"
    fail(message, error=error, code="EMAIL_BOUNCED", from_statuses=(Status.SENT,))
    return "failed"


# --- Twilio ----------------------------------------------------------------------------------------------

TWILIO_STATUS = {EventType.SENDING: FallbackStatus.SENDING, EventType.SENT: FallbackStatus.SENT,
                 EventType.DELIVERED: FallbackStatus.DELIVERED, EventType.FAILED: FallbackStatus.FAILED}


def _error_text(event: InboundEvent) -> str:
    if event.error_code:
        return describe_error(event.error_code)
    return f"Twilio reported the SMS {event.provider_status}"


def twilio_status_apply(*, workspace_id: str, event: InboundEvent) -> str:
    """Apply one Twilio delivery update; returns what happened: fallback | message | stale | unknown."""
    fallback = Message.objects.filter(workspace_id=workspace_id, fallback_provider="twilio",
                                      fallback_external_id=event.external_id).first()
    if fallback is not None:
        return _fallback_sms_status(fallback, event)
    message = Message.objects.filter(workspace_id=workspace_id, message_type=MessageType.SMS,
                                     direction=Direction.OUTBOUND, external_message_id=event.external_id).first()
    if message is not None:
        return _sms_status(message, event)
    log.info("twilio.status_unknown_sid", workspaceId=workspace_id, messageSid=event.external_id,
             status=event.provider_status)
    return "unknown"


def _opt_out(message: Message, event: InboundEvent, address: str) -> None:
    if event.error_code == str(OPT_OUT_CODE) and address:
        dnc_add(workspace=Workspace.objects.get(pk=message.workspace_id), address=address,
                reason="carrier_opt_out", source_message_id=message.pk)


def _fallback_sms_status(message: Message, event: InboundEvent) -> str:
    status = TWILIO_STATUS[event.event_type]
    now = timezone.now()
    fields: dict[str, object] = {}
    if status == FallbackStatus.DELIVERED:
        fields["fallback_delivered_at"] = now
    if status == FallbackStatus.FAILED:
        fields["fallback_error"] = _error_text(event)
    final = status in (FallbackStatus.DELIVERED, FallbackStatus.FAILED)
    fact = ("fallback_sms_delivered" if status == FallbackStatus.DELIVERED else "fallback_sms_undelivered") \
        if final else ""
    changed = state.fallback_advance(message.pk, status=status, fields=fields, fact=fact, now=now, detail={
        "provider": "twilio", "externalId": event.external_id, "providerStatus": event.provider_status,
        "errorCode": event.error_code or None})
    if status == FallbackStatus.FAILED:
        _opt_out(message, event, message.recipient_phone)
    log.info("twilio.fallback_status", messageId=message.pk, workspaceId=message.workspace_id,
             status=event.provider_status, applied=changed, errorCode=event.error_code or None)
    return "fallback" if changed else "stale"


def _sms_status(message: Message, event: InboundEvent) -> str:
    moved: Message | None = None
    if event.event_type == EventType.DELIVERED:
        moved = state.transition(message.pk, to=Status.DELIVERED, allowed_from=(Status.SENT,),
                                 reason="twilio_delivered", fields={"delivered_at": timezone.now()},
                                 detail={"messageSid": event.external_id})
    elif event.event_type == EventType.FAILED:
        code = f"TWILIO_{event.error_code}" if event.error_code else f"TWILIO_{event.provider_status.upper()}"
        moved = state.transition(message.pk, to=Status.FAILED, allowed_from=(Status.SENT,),
                                 reason="twilio_undelivered", fields={"error": _error_text(event), "error_code": code},
                                 detail={"messageSid": event.external_id, "errorCode": event.error_code or None})
        _opt_out(message, event, message.send_to_address or message.recipient_phone)
    log.info("twilio.sms_status", messageId=message.pk, workspaceId=message.workspace_id,
             status=event.provider_status, applied=moved is not None)
    return "message" if moved is not None else "stale"
