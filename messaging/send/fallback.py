"""The fallback SMS (spec: the fallback scenario table): does a message get one, and sending it once.

A fallback that should fire is first marked `fallback_sms_status = pending` on the row — durable, in
the caller's transaction — and only then handed to a worker. If the broker loses the task, the
pending-fallbacks sweep finds it.

Exactly once: the fallback is claimed with a guarded UPDATE (`fallback_sms_status` '' or 'pending' →
'sending'); only the caller whose UPDATE changed the row talks to the provider, after the claim has
committed and outside any transaction. A worker killed between the provider accepting the SMS and our
result write leaves the row in 'sending' with an in-flight SendAttempt: it is not sent again
automatically (at most once beats twice). This module owns only the `fallback_*` columns (through
messaging.send.state); `Message.status` (`fallback` / `failed`) is decided by the send path.
"""

from __future__ import annotations

import time
from typing import Any

from django.db import transaction
from django.utils import timezone

from fallback.config import twilio_status_callback_url
from fallback.models import FallbackConfig
from fallback.providers.base import PROVIDER_NAMES, ProviderResult, SendContext, provider_for
from leads.dnc import dnc_add, dnc_blocked_address
from messaging.models import FallbackStatus, Message, MessageType, Status
from messaging.personalize import render_message, sms_body
from messaging.send import attempts, state, wake
from messaging.send.outcome import Outcome, Result
from tuco.addresses import InvalidAddress, is_email, normalize_phone
from tuco.logging import get_logger
from tuco.send_errors import SendError

log = get_logger(__name__)

NO_PHONE = "No phone number: fallback SMS not possible"
NOT_CONFIGURED = "Fallback is not configured for this workspace (PATCH /api/workspace/fallback-config)"
# Tries per send and the pauses between them. Only failures where the SMS certainly did not go out
# (or the provider deduplicates on our idempotency key) are retried.
MAX_TRIES = 3
RETRY_DELAYS_SECONDS: tuple[float, ...] = (2.0, 5.0)


# --- the decision ----------------------------------------------------------------------------------

def fallback_policy(message: Message, config: FallbackConfig | None) -> bool:
    """The spec's table: does this message get a fallback SMS?

    - status `fallback` (no iMessage) + a configured fallback → yes, always;
    - status `failed` + sendFallbackSmsOnFailed (the message's own flag, else the workspace default)
      + a configured fallback → yes;
    - anything else → no. An `sms` message is never re-sent as a fallback SMS, and an email-only message
      (no recipientPhone on the message) never triggers one: "Fallback SMS requires recipientPhone on the
      message" — not the lead's stored phones (cost, and consent the integrator did not give).
    """
    if config is None or not config.is_configured:
        return False
    if message.message_type == MessageType.SMS or not message.recipient_phone:
        return False
    if message.status == Status.FALLBACK:
        return True
    if message.status == Status.FAILED:
        flag = message.send_fallback_sms_on_failed
        if flag is None:
            flag = config.send_fallback_sms_on_failed
        return bool(flag)
    return False


def fallback_request(message: Message, *, reason: str) -> bool:
    """If the policy says so, mark the fallback pending and wake a worker after commit."""
    config = FallbackConfig.objects.filter(workspace_id=message.workspace_id).first()
    if not fallback_policy(message, config):
        log.info("fallback.not_requested", messageId=message.pk, status=message.status, reason=reason,
                 configured=bool(config and config.is_configured), correlationId=message.correlation_id)
        return False
    if not state.fallback_mark_requested(message.pk):
        return False
    log.info("fallback.requested", messageId=message.pk, reason=reason, correlationId=message.correlation_id)
    transaction.on_commit(lambda: fallback_enqueue(message.pk, reason))
    return True


def fallback_enqueue(message_id: str, reason: str) -> None:
    try:
        wake.publish(wake.FALLBACK_SMS, message_id, reason)
    except Exception as exc:  # broker down: the pending-fallbacks sweep picks it up
        log.warning("fallback.enqueue_failed", messageId=message_id, error=str(exc))


# --- sending it, once --------------------------------------------------------------------------------

def fallback_phone(message: Message) -> str:
    """The number a fallback SMS goes to: the message's recipientPhone (spec), never the lead's other phones."""
    raw = message.recipient_phone
    if not raw or is_email(raw):
        return ""
    try:
        return normalize_phone(raw)
    except InvalidAddress:
        return ""


def fallback_idempotency_key(message_id: str) -> str:
    return f"fallback_{message_id}"


def _finish(message: Message, *, reason: str, provider: str, result: ProviderResult | None = None,
            error: SendError | None = None, tries: int = 0) -> Outcome:
    """Write the final fallback_* columns and the timeline entry."""
    now = timezone.now()
    external_id = result.external_id[:100] if result is not None else ""
    status = FallbackStatus.SENT if result is not None else FallbackStatus.FAILED
    fields: dict[str, Any] = {"fallback_provider": provider}
    detail: dict[str, Any] = {"provider": provider or None, "reason": reason, "tries": tries}
    if result is not None:
        fields.update(fallback_external_id=external_id, fallback_error="", fallback_sent_at=now)
        detail["externalId"] = external_id
    else:
        assert error is not None
        fields["fallback_error"] = error.message
        detail.update(error=error.message, errorCode=error.code or None)
    state.fallback_finish(message.pk, status=status, fields=fields, detail=detail, now=now)
    (log.info if result is not None else log.warning)(
        "fallback.sms_sent" if result is not None else "fallback.sms_failed",
        messageId=message.pk, workspaceId=message.workspace_id, correlationId=message.correlation_id,
        provider=provider, externalId=external_id or None, error=error.message if error else None,
        errorCode=error.code if error else None, reason=reason)
    return Outcome(Result.SENT if result is not None else Result.FAILED, error=error, external_id=external_id,
                   provider=provider, status=status, attempts=tries)


def _hand_over(message: Message, *, reason: str, provider: str, error: SendError, tries: int) -> Outcome:
    """Back to `pending` for a worker to retry (it claims it again, so still at most once)."""
    if state.fallback_release(message.pk, error=f"{error.message} ({RETRYING.lower()})"):
        fallback_enqueue(message.pk, reason)
    log.info("fallback.handed_to_worker", messageId=message.pk, provider=provider, errorCode=error.code, tries=tries)
    return Outcome(Result.TRANSIENT, error=error, provider=provider, status=FallbackStatus.PENDING, attempts=tries)


def _may_retry(error: SendError, *, supports_idempotency: bool, tries: int) -> bool:
    if error.permanent or tries >= MAX_TRIES:
        return False
    return supports_idempotency or not error.maybe_sent


# In a web request (forceFallback, POST /api/fallback-sms) one provider call is made; when it may be
# retried, the retries go to a worker (the fallback queue) and the request answers at once: the request
# holds a web worker for at most one provider call's deadline.
INLINE_TRIES = 1
RETRYING = "Retrying in the background"


def fallback_sms_send(*, message_id: str, reason: str, inline: bool = False) -> Outcome:
    """Send the fallback SMS for one message, at most once; returns what happened.

    Must not be called inside a transaction (the claim commits before the provider call). `inline`:
    the caller is a web request: after INLINE_TRIES the retries are handed to a worker (the outcome is
    then TRANSIENT with status `pending`).
    """
    message = Message.objects.select_related("lead").filter(pk=message_id).first()
    if message is None:
        return Outcome(Result.GONE, claimed=False, error=SendError("Message not found", "NOT_FOUND"))
    if not state.fallback_claim(message_id):
        current = Message.objects.filter(pk=message_id).values_list("fallback_sms_status", flat=True).first()
        log.info("fallback.already_claimed", messageId=message_id, workspaceId=message.workspace_id,
                 fallbackStatus=current)
        return Outcome(Result.GONE, claimed=False, status=current or "")

    config = FallbackConfig.objects.filter(workspace_id=message.workspace_id).first()
    provider_name = (config.provider or "") if config else ""
    phone = fallback_phone(message)
    if not phone:
        return _finish(message, reason=reason, provider=provider_name, error=SendError(NO_PHONE, "NO_PHONE", True))
    if config is None or not config.is_configured:
        return _finish(message, reason=reason, provider=provider_name,
                       error=SendError(NOT_CONFIGURED, "FALLBACK_NOT_CONFIGURED", True))
    if dnc_blocked_address(workspace_id=message.workspace_id, addresses=[phone]):
        return _finish(message, reason=reason, provider=provider_name, error=SendError(
            f"{phone} is on the workspace's do-not-contact list: fallback SMS not sent", "DO_NOT_CONTACT", True))

    provider = provider_for(config)
    body = sms_body(message)
    state.record_rendered_body(message, render_message(message))  # the text without the attachment links
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
        attempt = attempts.AttemptRecorder(message_id=message_id, channel=provider.name, to=phone, summary=summary,
                                           number=attempts.next_attempt_number(message_id, PROVIDER_NAMES))
        try:
            result = provider.send_sms(to=phone, body=body, idempotency_key=key, status_callback_url=callback,
                                       context=context)
        except SendError as exc:
            error = exc
        except Exception as exc:  # a provider bug must not leave the fallback stuck in 'sending'
            log.exception("fallback.provider_crashed", messageId=message_id, provider=provider.name)
            error = SendError(f"{provider.name} provider error: {type(exc).__name__}", "PROVIDER_ERROR", False,
                              maybe_sent=True)
        else:
            attempt.succeeded(result)
            return _finish(message, reason=reason, provider=provider.name, result=result, tries=tries)
        attempt.failed(error)
        if error.recipient_opted_out:
            dnc_add(workspace=message.workspace, address=phone, reason="carrier_opt_out",
                    source_message_id=message_id)
        if not _may_retry(error, supports_idempotency=provider.supports_idempotency, tries=tries):
            return _finish(message, reason=reason, provider=provider.name, error=error, tries=tries)
        if inline and tries >= INLINE_TRIES:
            return _hand_over(message, reason=reason, provider=provider.name, error=error, tries=tries)
        log.info("fallback.retrying", messageId=message_id, provider=provider.name, errorCode=error.code, tries=tries)
        time.sleep(RETRY_DELAYS_SECONDS[min(tries, len(RETRY_DELAYS_SECONDS)) - 1])
