"""iMessage through the line's device relay, for a message this worker has claimed.

claim (committed) → render → relay call → result. A send whose outcome is
unknown (timeout, dropped connection, 5xx, tempGuid in flight) is never
retried blindly: it is verified against the relay first (messaging.verification).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from leads.models import Lead
from lines.health import device_mark_unhealthy
from lines.relay.base import relay_for_device
from lines.relay.bluebubbles import chat_guid
from lines.relay.errors import RelayError, RelayErrorKind
from messaging import verification
from messaging.attachments.errors import AttachmentError
from messaging.attachments.fetch import attachment_fetch
from messaging.claim import Claimed
from messaging.gates import Block
from messaging.models import Message, SendAttempt, Status
from messaging.outcomes import RetryPolicy, attempt_finish, fail, mark_sent, release_reservation, wait
from messaging.personalize import lead_values, render
from tuco.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class Part:
    key: str  # "attachment:0", "attachment:1", "text"
    kind: str  # "attachment" | "text"
    url: str = ""
    name: str = ""


def plan_parts(message: Message, text: str) -> list[Part]:
    """Attachments first, then the text: one message, one claim, one device-gap slot."""
    names = list(message.attachment_names or [])
    parts = [Part(key=f"attachment:{i}", kind="attachment", url=url, name=names[i] if i < len(names) else "")
             for i, url in enumerate(message.attachment_urls or [])]
    if text.strip() or not parts:
        parts.append(Part(key="text", kind="text"))
    return parts


def send_via_relay(claimed: Claimed, *, policy: RetryPolicy, inline: bool, lead: Lead | None = None,
                   resume: bool = False) -> str:
    """Returns the outcome: "sent", "waiting", "failed", "fallback" or "verifying".

    `resume`: continue a claimed send whose earlier part was just verified on the device.
    """
    message, line, attempt = claimed.message, claimed.line, claimed.attempt
    assert line is not None and line.device is not None and attempt is not None
    device = line.device
    relay = relay_for_device(device)
    address = message.send_to_address
    done: dict[str, str] = dict(message.parts_sent or {})
    if device.private_api and not resume and not done:
        from messaging.availability_step import resolve_address

        resolved, instead = resolve_address(claimed, lead)
        if resolved is None:
            return instead
        address = resolved
    text = render(message.body, lead_values(lead, message))
    parts = plan_parts(message, text)
    summary = {"chatGuid": chat_guid(address, prefix=device.chat_guid_prefix or "iMessage"),
               "method": "private-api" if device.private_api else "apple-script",
               "tempGuid": attempt.temp_guid, "text": text, "parts": [p.key for p in parts]}
    started = timezone.now()
    cache_hits: list[bool] = []
    for part in parts:
        if part.key in done:
            continue
        temp_guid = attempt.temp_guid if len(parts) == 1 else f"{attempt.temp_guid}-{part.key}"
        pending: dict[str, str] = {"key": part.key, "kind": part.kind, "tempGuid": temp_guid}
        fetched = None
        if part.kind == "attachment":
            try:
                fetched = attachment_fetch(url=part.url, name=part.name or None, line_id=line.pk,
                                           workspace_id=message.workspace_id)
            except AttachmentError as error:
                return _attachment_failed(claimed, error, started=started, policy=policy)
            pending["name"] = fetched.name
            cache_hits.append(fetched.cache_hit)
        SendAttempt.objects.filter(pk=attempt.pk).update(
            request_summary={**summary, "pendingPart": pending}, to_address=address,
            cache_hit=all(cache_hits) if cache_hits else None)
        try:
            if fetched is not None:
                sent = relay.send_attachment(address=address, attachment=fetched.to_relay(), temp_guid=temp_guid)
            else:
                sent = relay.send_text(address=address, text=text, temp_guid=temp_guid)
        except RelayError as error:
            return _relay_failed(claimed, error, started=started, policy=policy, inline=inline)
        if sent.error:
            # The device wrote the row but marked it failed: this part did not go out.
            attempt_finish(attempt.pk, outcome=SendAttempt.Outcome.NOT_SENT, started=started, response_code=200,
                           error_class="device_error", error=f"device reported error {sent.error}")
            return _not_sent(claimed, f"device reported error {sent.error}", "DEVICE_ERROR", policy)
        done[part.key] = sent.guid
        if part is not parts[-1]:
            Message.objects.filter(pk=message.pk).update(parts_sent=done)  # a crash now must not resend it
    # The last part's guid is written with the status: a crash before that commit leaves the message
    # `sending` with this part pending, which the stuck sweep finds on the device by its tempGuid.
    last_guid = done[parts[-1].key]
    if not mark_sent(message.pk, guid=last_guid, via="relay_accepted", attempt_id=attempt.pk,
                     message_fields={"parts_sent": done},
                     attempt_fields={"duration_ms": int((timezone.now() - started).total_seconds() * 1000),
                                     "response_code": 200, "error_class": "", "error": ""}):
        # Someone else recorded the outcome first (a relay webhook, the stuck sweep): keep our facts too,
        # unless a send error has since moved the message on (its errored part must stay unsent).
        Message.objects.filter(pk=message.pk, external_message_id=last_guid,
                               status__in=(Status.SENT, Status.DELIVERED)).update(parts_sent=done)
        attempt_finish(attempt.pk, outcome=SendAttempt.Outcome.SENT, started=started, response_code=200,
                       external_id=last_guid)
    return "sent"


def part_confirmed(message_id: str, attempt_id: int, guid: str, *, policy: RetryPolicy, inline: bool) -> str:
    """Verification found the pending part on the device: record it, then finish the message's other parts."""
    attempt = SendAttempt.objects.select_related("line__device").get(pk=attempt_id)
    pending = (attempt.request_summary or {}).get("pendingPart") or {"key": "text"}
    message = Message.objects.select_related("lead").get(pk=message_id)
    done = dict(message.parts_sent or {})
    done[pending["key"]] = guid
    Message.objects.filter(pk=message_id).update(parts_sent=done)
    remaining = [key for key in (attempt.request_summary or {}).get("parts", [pending["key"]]) if key not in done]
    if not remaining:
        attempt_finish(attempt.pk, outcome=SendAttempt.Outcome.SENT, external_id=guid, error=attempt.error,
                       error_class=attempt.error_class)
        mark_sent(message_id, guid=guid, via="verified_on_device", attempt_id=attempt.pk)
        return "sent"
    message.parts_sent = done
    return send_via_relay(Claimed(message=message, line=attempt.line, attempt=attempt), policy=policy,
                          inline=inline, lead=message.lead, resume=True)


def _attachment_failed(claimed: Claimed, error: AttachmentError, *, started, policy: RetryPolicy) -> str:
    message, attempt = claimed.message, claimed.attempt
    assert attempt is not None
    attempt_finish(attempt.pk, outcome=SendAttempt.Outcome.NOT_SENT, started=started, error_class=error.code,
                   error=error.message)
    log.warning("message.attachment_failed", messageId=message.pk, code=error.code, permanent=error.permanent,
                error=error.message, correlationId=message.correlation_id)
    if error.permanent:
        fail(message, error=f"Attachment could not be sent: {error.message}", code=error.code)
        return "failed"
    return _not_sent(claimed, f"Attachment download failed: {error.message}", error.code, policy)


def _not_sent(claimed: Claimed, error: str, code: str, policy: RetryPolicy) -> str:
    from messaging.outcomes import retry_or_fail

    updated = retry_or_fail(claimed.message, error=error, code=code, policy=policy)
    return "failed" if updated is not None and updated.status == Status.FAILED else "waiting"


def _relay_failed(claimed: Claimed, error: RelayError, *, started, policy: RetryPolicy, inline: bool) -> str:
    message, line, attempt = claimed.message, claimed.line, claimed.attempt
    assert line is not None and attempt is not None
    log.warning("message.relay_error", messageId=message.pk, lineId=line.pk, kind=str(error.kind),
                status=error.status, error=error.message[:300], correlationId=message.correlation_id)
    if error.kind in (RelayErrorKind.UNKNOWN, RelayErrorKind.IN_FLIGHT):
        attempt_finish(attempt.pk, outcome=SendAttempt.Outcome.UNKNOWN, started=started,
                       response_code=error.status, error_class=str(error.kind), error=error.message)
        return verification.begin(message, attempt.pk, policy=policy, inline=inline)

    attempt_finish(attempt.pk, outcome=SendAttempt.Outcome.NOT_SENT, started=started, response_code=error.status,
                   error_class=str(error.kind), error=error.message)
    if error.kind == RelayErrorKind.REJECTED:
        fail(message, error=f"The relay rejected the message: {error.message}", code="RELAY_REJECTED")
        return "failed"
    return line_fault(claimed, error)


def line_fault(claimed: Claimed, error: RelayError) -> str:
    """The relay is down or refuses us (bad password, Private API helper gone): nothing was sent and the
    fault is the line's, not the message's. The line goes unhealthy; the message waits (or moves to a
    healthy line when it may) without spending one of its attempts."""
    message, line = claimed.message, claimed.line
    assert line is not None
    reason = {RelayErrorKind.PERMANENT: "relay refused the password",
              RelayErrorKind.PRIVATE_API: "Private API helper is not connected",
              RelayErrorKind.NOT_SENT: "relay unreachable"}.get(error.kind, str(error.kind))
    detail = error.message if error.message.startswith(reason) else f"{reason}: {error.message}"
    device_mark_unhealthy(device_id=line.device_id, reason=detail[:500])
    release_reservation(message.pk)
    from datetime import timedelta

    from django.conf import settings

    now = timezone.now()
    block = Block("line_unhealthy", now + timedelta(seconds=settings.TUCO_LINE_RECHECK_SECONDS), detail[:500],
                  line.pk)
    wait(message, block, now=now, from_statuses=(Status.SENDING,),
         extra_fields={"attempt_count": max(0, message.attempt_count - 1)})
    return "waiting"
