"""iMessage through the line's device relay (BlueBubbles), for a message this worker has claimed.

claim (committed) → availability (Private API devices) → render → one relay call per part → outcome.
Attachments go first, then the text: one message, one claim, one device-gap slot; a part that left
the device is recorded before the next one goes and is never sent again.

A send whose outcome is unknown (timeout, dropped connection, 5xx, tempGuid in flight) is never
retried blindly: `verify` looks for it on the device first. BlueBubbles can answer 500 (or nothing
at all) for a message it did send (#801), so a match is an outgoing message to the same address,
created after the attempt started, with the same text (or attachment), not already attributed to
another message. Found with error 0 → sent; found with an error → not sent; not found until the
verification window closes → not sent. If the relay cannot be asked at all nothing is concluded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from django.utils import timezone

from lines.capacity import relay_call_returned
from lines.relay.bluebubbles import chat_guid
from lines.relay.client import relay_for_device
from messaging.attachments.errors import AttachmentError
from messaging.attachments.fetch import attachment_fetch
from messaging.models import Message, SendAttempt
from messaging.personalize import render_message
from messaging.send import attempts, state
from messaging.send.channels.availability import resolve_address
from messaging.send.claim import Claimed
from messaging.send.outcome import Outcome, Result
from messaging.send.pacing import wait_for_call_slot
from tuco.logging import get_logger
from tuco.send_errors import SendError

log = get_logger(__name__)

# BlueBubbles' own awaiter looks back 10 s before the send started.
LOOKBACK_MS = 10_000


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


class IMessageChannel:
    attempt_channel: ClassVar[str] = "relay"
    uses_line: ClassVar[bool] = True
    can_verify: ClassVar[bool] = True

    def send(self, claimed: Claimed, *, resume: bool = False) -> Outcome:
        """`resume`: continue a claimed send whose earlier part was just verified on the device."""
        message, line, attempt = claimed.message, claimed.line, claimed.attempt
        assert line is not None and line.device is not None and attempt is not None
        device = line.device
        relay = relay_for_device(device, line_id=line.pk)
        lead = message.lead
        address = message.send_to_address
        done: dict[str, str] = dict(message.parts_sent or {})
        if not resume and not done:
            resolved, instead = resolve_address(claimed, lead)
            if instead is not None:
                return instead
            assert resolved is not None
            address = resolved
        text = render_message(message, line=line)
        parts = plan_parts(message, text)
        if "text" not in done and any(part.key == "text" for part in parts):
            state.record_rendered_body(message, text)  # what the recipient gets (the Unibox shows it)
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
                    return self._attachment_failed(claimed, error, started=started)
                pending["name"] = fetched.name
                cache_hits.append(fetched.cache_hit)
            if not done:
                # The first part to reach the device: the gaps hold at the call, not only at the claim.
                block = wait_for_call_slot(line=line, device=device, new=bool(message.is_new_conversation))
                if block is not None:
                    attempts.attempt_finish(attempt.pk, outcome=SendAttempt.Outcome.NOT_SENT, started=started,
                                            error_class="pacing", error=block.detail)
                    return Outcome(Result.WAIT, block=block)
            attempts.attempt_record_request(attempt.pk, summary={**summary, "pendingPart": pending}, to_address=address,
                                            cache_hit=all(cache_hits) if cache_hits else None)
            try:
                if fetched is not None:
                    sent = relay.send_attachment(address=address, attachment=fetched.to_relay(), temp_guid=temp_guid)
                else:
                    sent = relay.send_text(address=address, text=text, temp_guid=temp_guid)
            except SendError as error:
                return self._relay_failed(claimed, error, started=started)
            finally:
                # The gaps count from the relay's answer too: the device recorded the send before it.
                relay_call_returned(line=line, device=device, new=bool(message.is_new_conversation),
                                    at=timezone.now())
            if sent.error:
                # The device wrote the row but marked it failed: this part did not go out.
                attempts.attempt_finish(attempt.pk, outcome=SendAttempt.Outcome.NOT_SENT, started=started,
                                        response_code=200, error_class="device_error",
                                        error=f"device reported error {sent.error}")
                return Outcome(Result.TRANSIENT, error=SendError(f"device reported error {sent.error}", "DEVICE_ERROR"))
            done[part.key] = sent.guid
            if part is not parts[-1]:
                state.record_parts_sent(message.pk, done)  # a crash now must not resend it
        # The last part's guid is written with the status: a crash before that commit leaves the message
        # `sending` with this part pending, which the stuck sweep finds on the device by its tempGuid.
        return Outcome(Result.SENT, external_id=done[parts[-1].key], via="relay_accepted", attempt_id=attempt.pk,
                       message_fields={"parts_sent": done},
                       attempt_fields={"duration_ms": int((timezone.now() - started).total_seconds() * 1000),
                                       "response_code": 200, "error_class": "", "error": ""})

    def _attachment_failed(self, claimed: Claimed, error: AttachmentError, *, started) -> Outcome:
        message, attempt = claimed.message, claimed.attempt
        assert attempt is not None
        attempts.attempt_finish(attempt.pk, outcome=SendAttempt.Outcome.NOT_SENT, started=started,
                                error_class=error.code, error=error.message)
        log.warning("message.attachment_failed", messageId=message.pk, code=error.code, permanent=error.permanent,
                    error=error.message, correlationId=message.correlation_id)
        if error.permanent:
            return Outcome(Result.FAILED, error=SendError(f"Attachment could not be sent: {error.message}", error.code,
                                                          True))
        return Outcome(Result.TRANSIENT, error=SendError(f"Attachment download failed: {error.message}", error.code))

    def _relay_failed(self, claimed: Claimed, error: SendError, *, started) -> Outcome:
        message, line, attempt = claimed.message, claimed.line, claimed.attempt
        assert line is not None and attempt is not None
        log.warning("message.relay_error", messageId=message.pk, lineId=line.pk, kind=str(error.kind),
                    status=error.status, error=error.message[:300], correlationId=message.correlation_id)
        if error.maybe_sent:
            attempts.attempt_finish(attempt.pk, outcome=SendAttempt.Outcome.UNKNOWN, started=started,
                                    response_code=error.status, error_class=error.error_class, error=error.message)
            return Outcome(Result.TRANSIENT, error=error, attempt_id=attempt.pk)
        attempts.attempt_finish(attempt.pk, outcome=SendAttempt.Outcome.NOT_SENT, started=started,
                                response_code=error.status, error_class=error.error_class, error=error.message)
        if error.permanent:
            return Outcome(Result.FAILED, error=SendError(f"The relay rejected the message: {error.message}",
                                                          "RELAY_REJECTED", True))
        return Outcome(Result.LINE_FAULT, error=error)

    def verify(self, message: Message, attempt: SendAttempt, *, final: bool) -> Outcome:
        if attempt.line is None or attempt.line.device is None:
            return Outcome(Result.GONE)
        relay = relay_for_device(attempt.line.device, line_id=attempt.line.pk)
        since_ms = int(attempt.started_at.timestamp() * 1000) - LOOKBACK_MS
        summary = attempt.request_summary or {}
        pending = summary.get("pendingPart") or {}
        attachment_name = pending.get("name", "") if pending.get("kind") == "attachment" else ""
        try:
            rows = relay.find_sent(address=attempt.to_address, text=summary.get("text", message.body),
                                   since_ms=since_ms, attachment_name=attachment_name)
        except SendError as exc:
            log.warning("message.verify.relay_error", messageId=message.pk, error=str(exc))
            rows = None

        if rows:
            taken = set(Message.objects.filter(external_message_id__in=[r.guid for r in rows])
                        .exclude(pk=message.pk).values_list("external_message_id", flat=True))
            candidates = sorted((r for r in rows if r.guid not in taken), key=lambda r: r.date_created_ms)
            if candidates:
                found = candidates[0]
                if found.error == 0:
                    log.info("message.verify.found", messageId=message.pk, guid=found.guid, part=pending.get("key"))
                    return self._part_confirmed(message, attempt, found.guid)
                attempts.attempt_finish(attempt.pk, outcome=SendAttempt.Outcome.NOT_SENT, error_class="device_error",
                                        error=f"device marked the message failed (error {found.error})")
                return Outcome(Result.TRANSIENT,
                               error=SendError(f"device reported error {found.error}", "DEVICE_ERROR"))

        deadline_passed = attempt.verify_until is None or timezone.now() >= attempt.verify_until
        if rows is None or not (deadline_passed or final):
            return Outcome(Result.PENDING)  # nothing can be concluded while the relay is unreachable
        attempts.attempt_finish(attempt.pk, outcome=SendAttempt.Outcome.NOT_SENT,
                                error_class=attempt.error_class or "unknown",
                                error=f"{attempt.error} — not found on the device after verification".strip(" —"))
        log.info("message.verify.not_found", messageId=message.pk, attemptId=attempt.pk)
        return Outcome(Result.TRANSIENT, error=SendError("send not confirmed by the device", "SEND_NOT_CONFIRMED"))

    def _part_confirmed(self, message: Message, attempt: SendAttempt, guid: str) -> Outcome:
        """The pending part is on the device: record it; sent when it was the last part."""
        summary = attempt.request_summary or {}
        pending = summary.get("pendingPart") or {"key": "text"}
        done = dict(message.parts_sent or {})
        done[pending["key"]] = guid
        state.record_parts_sent(message.pk, done)
        if [key for key in summary.get("parts", [pending["key"]]) if key not in done]:
            return Outcome(Result.PART_CONFIRMED, external_id=guid, attempt_id=attempt.pk)
        attempts.attempt_finish(attempt.pk, outcome=SendAttempt.Outcome.SENT, external_id=guid, error=attempt.error,
                                error_class=attempt.error_class)
        return Outcome(Result.SENT, external_id=guid, via="verified_on_device", attempt_id=attempt.pk)
