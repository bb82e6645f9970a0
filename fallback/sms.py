"""The SMS channel (`messageType: "sms"`): one send through the workspace's Twilio account.

The send path has already claimed the message (`status = sending`) and does
the lifecycle transition with what `sms_send` returns; this module only talks
to Twilio and records the SendAttempt rows. Addresses are the message's
send-to address, then the lead's phone → altPhone1-3 (phones only, never
emails). A number Twilio rejects as invalid/unreachable moves on to the next
address; an opted-out number (21610) stops and goes on the do-not-contact list.
"""

from __future__ import annotations

from dataclasses import dataclass

from fallback.attempts import AttemptRecorder, next_attempt_number
from fallback.config import twilio_status_callback_url
from fallback.models import FallbackConfig
from fallback.providers.base import ProviderError, SendContext
from fallback.providers.twilio import TwilioProvider, is_recipient_error
from fallback.services import sms_body
from leads.dnc import dnc_add, dnc_blocked_address
from messaging.models import Message
from tuco.addresses import InvalidAddress, is_email, normalize_phone
from tuco.logging import get_logger

log = get_logger(__name__)

SMS_NOT_CONFIGURED = "SMS needs Twilio: set twilio accountSid, authToken and fromNumber with " \
                     "PATCH /api/workspace/fallback-config"


@dataclass(frozen=True)
class SmsOutcome:
    """The result of one `sms_send`.

    result: "sent" (external_id = Twilio MessageSid, to_address = the number used),
    "failed" (permanent: error_code e.g. TWILIO_21211, SMS_NOT_CONFIGURED, NO_PHONE, DO_NOT_CONTACT),
    or "transient" (retry later; when `maybe_sent` the SMS may already have gone out, so verify
    or give up rather than resend blindly).
    """

    result: str
    external_id: str = ""
    to_address: str = ""
    error: str = ""
    error_code: str = ""
    maybe_sent: bool = False
    attempts: int = 0

    @property
    def sent(self) -> bool:
        return self.result == "sent"

    @property
    def permanent(self) -> bool:
        return self.result == "failed"


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


def sms_send(*, message_id: str) -> SmsOutcome:
    """Send an sms-type message that the caller has claimed; returns the outcome (no status change here)."""
    message = Message.objects.select_related("lead", "workspace").get(pk=message_id)
    config = FallbackConfig.objects.filter(workspace_id=message.workspace_id).first()
    if config is None or not config.twilio_configured:
        return SmsOutcome(result="failed", error=SMS_NOT_CONFIGURED, error_code="SMS_NOT_CONFIGURED")
    addresses = sms_addresses(message)
    if not addresses:
        return SmsOutcome(result="failed", error="No phone number for an SMS (phone and altPhone1-3 are empty)",
                          error_code="NO_PHONE")
    provider = TwilioProvider.from_config(config)
    body = sms_body(message)
    callback = twilio_status_callback_url(message.workspace_id)
    context = SendContext(message_id=message_id, workspace_id=message.workspace_id)
    attempts = 0
    last: SmsOutcome | None = None
    for phone in addresses:
        if dnc_blocked_address(workspace_id=message.workspace_id, addresses=[phone]):
            last = SmsOutcome(result="failed", to_address=phone, error=f"{phone} is on the do-not-contact list",
                              error_code="DO_NOT_CONTACT", attempts=attempts)
            continue
        attempts += 1
        summary = {**provider.request_summary(to=phone, body=body), "kind": "sms"}
        attempt = AttemptRecorder(message_id=message_id, channel=provider.name,
                                  number=next_attempt_number(message_id, [provider.name]), to=phone, summary=summary)
        try:
            result = provider.send_sms(to=phone, body=body, idempotency_key=f"sms_{message_id}",
                                       status_callback_url=callback, context=context)
        except ProviderError as error:
            attempt.failed(error)
            log.warning("sms.send_failed", messageId=message_id, workspaceId=message.workspace_id,
                        correlationId=message.correlation_id, errorCode=error.code, permanent=error.permanent)
            if error.recipient_opted_out:
                dnc_add(workspace=message.workspace, address=phone, reason="carrier_opt_out",
                        source_message_id=message_id)
                return SmsOutcome(result="failed", to_address=phone, error=error.message, error_code=error.code,
                                  attempts=attempts)
            if not error.permanent:
                return SmsOutcome(result="transient", to_address=phone, error=error.message, error_code=error.code,
                                  maybe_sent=error.maybe_sent, attempts=attempts)
            last = SmsOutcome(result="failed", to_address=phone, error=error.message, error_code=error.code,
                              attempts=attempts)
            if not is_recipient_error(error.code):
                return last  # the account or the sender is wrong: another number will not help
            continue
        attempt.succeeded(result)
        log.info("sms.sent", messageId=message_id, workspaceId=message.workspace_id,
                 correlationId=message.correlation_id, externalId=result.external_id)
        return SmsOutcome(result="sent", external_id=result.external_id, to_address=phone, attempts=attempts)
    assert last is not None
    return last
