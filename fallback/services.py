"""Fallback SMS: the policy (does a message get one?) and the exactly-once dispatch.

The dispatch owns only the `fallback_*` columns of a message; `Message.status`
(`fallback` / `failed`) is decided by the send path through messaging.lifecycle.

Exactly once: the fallback is claimed with a guarded UPDATE
(`fallback_sms_status` '' or 'pending' → 'sending'); only the caller whose
UPDATE changed the row talks to the provider, after the claim has committed
and outside any transaction. A worker killed between the provider accepting
the SMS and our result write leaves the row in 'sending' with an in-flight
SendAttempt: it is not sent again automatically (at most once beats twice).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from fallback.attempts import AttemptRecorder, next_attempt_number
from fallback.config import twilio_status_callback_url
from fallback.models import FallbackConfig
from fallback.providers.base import PROVIDER_NAMES, ProviderError, ProviderResult, SendContext, provider_for
from leads.dnc import dnc_add, dnc_blocked_address
from messaging import lifecycle
from messaging.models import FallbackStatus, Message, MessageType, Status
from tuco.addresses import InvalidAddress, is_email, normalize_phone
from tuco.logging import get_logger

log = get_logger(__name__)

NO_PHONE = "No phone number: fallback SMS not possible"
NOT_CONFIGURED = "Fallback is not configured for this workspace (PATCH /api/workspace/fallback-config)"
# Tries per dispatch and the pauses between them. Only failures where the SMS certainly did not
# go out (or the provider deduplicates on our idempotency key) are retried.
MAX_TRIES = 3
RETRY_DELAYS_SECONDS: tuple[float, ...] = (2.0, 5.0)
CLAIMABLE_FALLBACK = ("", FallbackStatus.PENDING)


@dataclass(frozen=True)
class FallbackOutcome:
    """What one `fallback_dispatch` call did.

    `claimed` False: another call owns (or finished) this fallback and nothing
    was sent here; `status` is then the row's current `fallback_sms_status`.
    """

    status: str
    claimed: bool
    provider: str = ""
    external_id: str = ""
    error: str = ""
    error_code: str = ""

    @property
    def sent(self) -> bool:
        return self.status == FallbackStatus.SENT


def fallback_policy(message: Message, config: FallbackConfig | None) -> bool:
    """The spec's table: does this message get a fallback SMS?

    - status `fallback` (no iMessage) + a configured fallback → yes, always;
    - status `failed` + sendFallbackSmsOnFailed (the message's own flag, else the
      workspace default) + a configured fallback → yes;
    - anything else → no. An `sms` message is never re-sent as a fallback SMS.
    """
    if config is None or not config.is_configured:
        return False
    if message.message_type == MessageType.SMS:
        return False
    if message.status == Status.FALLBACK:
        return True
    if message.status == Status.FAILED:
        flag = message.send_fallback_sms_on_failed
        if flag is None:
            flag = config.send_fallback_sms_on_failed
        return bool(flag)
    return False


def fallback_phone(message: Message) -> str:
    """The number a fallback SMS goes to: the message's recipientPhone, else the lead's phones in order."""
    candidates = [message.recipient_phone]
    if message.lead_id and message.lead is not None:
        candidates.extend(message.lead.phones())
    for raw in candidates:
        if not raw or is_email(raw):
            continue
        try:
            return normalize_phone(raw)
        except InvalidAddress:
            continue
    return ""


def fallback_idempotency_key(message_id: str) -> str:
    return f"fallback_{message_id}"


def sms_body(message: Message) -> str:
    """The text as the recipient would have seen it: placeholders filled, attachment links appended."""
    from messaging.personalize import render_message

    parts = [render_message(message).strip()]
    parts.extend(url for url in (message.attachment_urls or []) if isinstance(url, str))
    return "\n".join(p for p in parts if p)


def _claim(message_id: str) -> bool:
    # durable: the claim must commit before the provider call, so no caller transaction may wrap it.
    with transaction.atomic(durable=True):
        return Message.objects.filter(pk=message_id, fallback_sms_status__in=CLAIMABLE_FALLBACK).update(
            fallback_sms_status=FallbackStatus.SENDING, fallback_error="", updated_at=timezone.now()) == 1


def _finish(message: Message, *, reason: str, provider: str, result: ProviderResult | None = None,
            error: str = "", error_code: str = "", tries: int = 0) -> FallbackOutcome:
    """Write the final fallback_* columns and the timeline entry (short transaction, no I/O)."""
    now = timezone.now()
    external_id = result.external_id[:100] if result is not None else ""
    status = FallbackStatus.SENT if result is not None else FallbackStatus.FAILED
    fields: dict[str, Any] = {"fallback_provider": provider, "updated_at": now}
    detail: dict[str, Any] = {"provider": provider or None, "reason": reason, "tries": tries}
    if result is not None:
        fields.update(fallback_external_id=external_id, fallback_error="", fallback_sent_at=now)
        detail["externalId"] = external_id
    else:
        fields["fallback_error"] = error
        detail.update(error=error, errorCode=error_code or None)
    with transaction.atomic():
        # Guarded: only the claimant (row still 'sending') writes the result.
        Message.objects.filter(pk=message.pk, fallback_sms_status=FallbackStatus.SENDING).update(
            fallback_sms_status=status, **fields)
        lifecycle.record_fact(message.pk, reason=f"fallback_sms_{status}", detail=detail, now=now)
    (log.info if result is not None else log.warning)(
        "fallback.sms_sent" if result is not None else "fallback.sms_failed",
        messageId=message.pk, workspaceId=message.workspace_id, correlationId=message.correlation_id,
        provider=provider, externalId=external_id or None, error=error or None, errorCode=error_code or None,
        reason=reason)
    return FallbackOutcome(status=status, claimed=True, provider=provider, external_id=external_id, error=error,
                           error_code=error_code)


def _may_retry(error: ProviderError, *, supports_idempotency: bool, tries: int) -> bool:
    if error.permanent or tries >= MAX_TRIES:
        return False
    return supports_idempotency or not error.maybe_sent


def fallback_dispatch(*, message_id: str, reason: str) -> FallbackOutcome:
    """Send the fallback SMS for one message, at most once; returns what happened.

    Must not be called inside a transaction (the claim commits before the provider call).
    """
    message = Message.objects.select_related("lead").filter(pk=message_id).first()
    if message is None:
        return FallbackOutcome(status="", claimed=False, error="Message not found", error_code="NOT_FOUND")
    if not _claim(message_id):
        current = Message.objects.filter(pk=message_id).values_list("fallback_sms_status", flat=True).first()
        log.info("fallback.already_claimed", messageId=message_id, workspaceId=message.workspace_id,
                 fallbackStatus=current)
        return FallbackOutcome(status=current or "", claimed=False)

    config = FallbackConfig.objects.filter(workspace_id=message.workspace_id).first()
    provider_name = (config.provider or "") if config else ""
    phone = fallback_phone(message)
    if not phone:
        return _finish(message, reason=reason, provider=provider_name, error=NO_PHONE, error_code="NO_PHONE")
    if config is None or not config.is_configured:
        return _finish(message, reason=reason, provider=provider_name, error=NOT_CONFIGURED,
                       error_code="FALLBACK_NOT_CONFIGURED")
    if dnc_blocked_address(workspace_id=message.workspace_id, addresses=[phone]):
        return _finish(message, reason=reason, provider=provider_name, error_code="DO_NOT_CONTACT",
                       error=f"{phone} is on the workspace's do-not-contact list: fallback SMS not sent")

    provider = provider_for(config)
    body = sms_body(message)
    key = fallback_idempotency_key(message_id)
    callback = twilio_status_callback_url(message.workspace_id) if provider.name == "twilio" else None
    context = SendContext(message_id=message_id, workspace_id=message.workspace_id, reason=reason, extra={
        "recipientName": message.recipient_name or None, "recipientEmail": message.recipient_email or None,
        "leadId": message.lead_id, "messageType": message.message_type, "status": message.status,
        "correlationId": message.correlation_id or None,
    })
    summary = {**provider.request_summary(to=phone, body=body), "kind": "fallback", "reason": reason}
    tries = 0
    while True:
        tries += 1
        attempt = AttemptRecorder(message_id=message_id, channel=provider.name,
                                  number=next_attempt_number(message_id, PROVIDER_NAMES), to=phone, summary=summary)
        try:
            result = provider.send_sms(to=phone, body=body, idempotency_key=key, status_callback_url=callback,
                                       context=context)
        except ProviderError as exc:
            error = exc
        except Exception as exc:  # a provider bug must not leave the fallback stuck in 'sending'
            log.exception("fallback.provider_crashed", messageId=message_id, provider=provider.name)
            error = ProviderError(f"{provider.name} provider error: {type(exc).__name__}", "PROVIDER_ERROR",
                                  False, maybe_sent=True)
        else:
            attempt.succeeded(result)
            return _finish(message, reason=reason, provider=provider.name, result=result, tries=tries)
        attempt.failed(error)
        if error.recipient_opted_out:
            dnc_add(workspace=message.workspace, address=phone, reason="carrier_opt_out",
                    source_message_id=message_id)
        if not _may_retry(error, supports_idempotency=provider.supports_idempotency, tries=tries):
            return _finish(message, reason=reason, provider=provider.name, error=error.message,
                           error_code=error.code, tries=tries)
        log.info("fallback.retrying", messageId=message_id, provider=provider.name, errorCode=error.code, tries=tries)
        time.sleep(RETRY_DELAYS_SECONDS[min(tries, len(RETRY_DELAYS_SECONDS)) - 1])
