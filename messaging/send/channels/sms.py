"""The SMS channel (`messageType: "sms"`): one send through the workspace's Twilio account.

Addresses are the message's send-to address, then the lead's phone → altPhone1-3 (phones only, never
emails). A number Twilio rejects as invalid/unreachable moves on to the next address; an opted-out
number (21610) stops and goes on the do-not-contact list. Twilio cannot be asked afterwards whether
an ambiguous send happened, so a maybe-sent failure is never retried (the send path fails it).
"""

from __future__ import annotations

from typing import ClassVar

from fallback.config import twilio_status_callback_url
from fallback.models import FallbackConfig
from fallback.providers.base import SendContext
from fallback.providers.twilio import TwilioProvider, is_recipient_error
from leads.dnc import dnc_add, dnc_blocked_address
from messaging.models import Message, SendAttempt
from messaging.personalize import render_message, sms_body
from messaging.send import attempts, state
from messaging.send.claim import Claimed
from messaging.send.outcome import Outcome, Result
from tuco.addresses import InvalidAddress, is_email, normalize_phone
from tuco.logging import get_logger
from tuco.send_errors import SendError

log = get_logger(__name__)

SMS_NOT_CONFIGURED = "SMS needs Twilio: set twilio accountSid, authToken and fromNumber with " \
                     "PATCH /api/workspace/fallback-config"


def sms_addresses(message: Message) -> list[str]:
    """send_to_address, then recipientPhone, then the lead's phone → altPhone1-3; E.164, no duplicates."""
    raw = [message.send_to_address, message.recipient_phone]
    if message.lead_id and message.lead is not None:
        raw.extend(message.lead.phones())
    seen: list[str] = []
    for value in raw:
        if not value or is_email(value):
            continue
        try:
            phone = normalize_phone(value)
        except InvalidAddress:
            continue
        if phone not in seen:
            seen.append(phone)
    return seen


def _failed(error: SendError, *, to: str = "", tries: int = 0) -> Outcome:
    return Outcome(Result.FAILED if error.permanent else Result.TRANSIENT, error=error, to_address=to, attempts=tries)


def sms_send(*, message_id: str) -> Outcome:
    """Send an sms-type message that the caller has claimed; returns the outcome (no status change here)."""
    message = Message.objects.select_related("lead", "workspace").get(pk=message_id)
    config = FallbackConfig.objects.filter(workspace_id=message.workspace_id).first()
    if config is None or not config.twilio_configured:
        return _failed(SendError(SMS_NOT_CONFIGURED, "SMS_NOT_CONFIGURED", True))
    addresses = sms_addresses(message)
    if not addresses:
        return _failed(SendError("No phone number for an SMS (phone and altPhone1-3 are empty)", "NO_PHONE", True))
    provider = TwilioProvider.from_config(config)
    body = sms_body(message)
    state.record_rendered_body(message, render_message(message))  # the text without the attachment links
    callback = twilio_status_callback_url(message.workspace_id)
    context = SendContext(message_id=message_id, workspace_id=message.workspace_id)
    tries = 0
    last: Outcome | None = None
    for phone in addresses:
        if dnc_blocked_address(workspace_id=message.workspace_id, addresses=[phone]):
            last = _failed(SendError(f"{phone} is on the do-not-contact list", "DO_NOT_CONTACT", True), to=phone,
                           tries=tries)
            continue
        tries += 1
        summary = {**provider.request_summary(to=phone, body=body), "kind": "sms"}
        attempt = attempts.AttemptRecorder(message_id=message_id, channel=provider.name, to=phone, summary=summary,
                                           number=attempts.next_attempt_number(message_id, [provider.name]))
        try:
            result = provider.send_sms(to=phone, body=body, idempotency_key=f"sms_{message_id}",
                                       status_callback_url=callback, context=context)
        except SendError as error:
            attempt.failed(error)
            log.warning("sms.send_failed", messageId=message_id, workspaceId=message.workspace_id,
                        correlationId=message.correlation_id, errorCode=error.code, permanent=error.permanent)
            if error.recipient_opted_out:
                dnc_add(workspace=message.workspace, address=phone, reason="carrier_opt_out",
                        source_message_id=message_id)
                return _failed(error, to=phone, tries=tries)
            last = _failed(error, to=phone, tries=tries)
            if not error.permanent or not is_recipient_error(error.code):
                return last  # transient, or the account / the sender is wrong: another number will not help
            continue
        attempt.succeeded(result)
        log.info("sms.sent", messageId=message_id, workspaceId=message.workspace_id,
                 correlationId=message.correlation_id, externalId=result.external_id)
        return Outcome(Result.SENT, external_id=result.external_id, to_address=phone, attempts=tries,
                       via="twilio_accepted")
    assert last is not None
    return last


class SmsChannel:
    attempt_channel: ClassVar[str] = ""  # one SendAttempt per provider call (AttemptRecorder)
    uses_line: ClassVar[bool] = False
    can_verify: ClassVar[bool] = False

    def send(self, claimed: Claimed, *, resume: bool = False) -> Outcome:
        outcome = sms_send(message_id=claimed.message.pk)
        if outcome.sent:
            state.record_send_to(claimed.message.pk, outcome.to_address)
        return outcome

    def verify(self, message: Message, attempt: SendAttempt, *, final: bool) -> Outcome:
        raise NotImplementedError("Twilio cannot be asked whether an ambiguous send went out")
