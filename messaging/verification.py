"""Did an attempt whose outcome is unknown actually leave the device?

BlueBubbles can answer 500 (or nothing at all) for a message it did send
(#801), so before any retry we look for the row on the device: an outgoing
message to the same address, created after the attempt started, with the
same text, not already attributed to another message. Found with error 0 →
sent; found with an error → not sent; not found until the verification window
closes → not sent. If the relay cannot be asked at all we conclude nothing and
keep the message in `sending` for the stuck-sending sweep: never a blind resend.
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.utils import timezone

from lines.relay.base import relay_for_device
from lines.relay.errors import RelayError
from messaging.models import Message, SendAttempt, Status
from messaging.outcomes import RetryPolicy, attempt_finish, retry_or_fail
from tuco.logging import get_logger

log = get_logger(__name__)

PENDING, SENT, NOT_SENT, GONE = "pending", "sent", "not_sent", "gone"
# BlueBubbles' own awaiter looks back 10 s before the send started.
LOOKBACK_MS = 10_000


def begin(message: Message, attempt_id: int, *, policy: RetryPolicy, inline: bool) -> str:
    verify_until = timezone.now() + timedelta(seconds=policy.verify_seconds)
    SendAttempt.objects.filter(pk=attempt_id).update(verify_until=verify_until)
    log.info("message.verify.started", messageId=message.pk, attemptId=attempt_id,
             verifyUntil=verify_until.isoformat(), correlationId=message.correlation_id)
    if inline:
        while True:
            result = verify_once(message.pk, attempt_id, policy=policy)
            if result != PENDING or timezone.now() >= verify_until:
                return result
            time.sleep(policy.poll_seconds)
    schedule_poll(message.pk, attempt_id, policy.poll_seconds)
    return "verifying"


def schedule_poll(message_id: str, attempt_id: int, countdown: float) -> None:
    from messaging.tasks import verify_send

    try:
        verify_send.apply_async(args=[message_id, attempt_id], countdown=countdown)
    except Exception as exc:  # broker down: the stuck-sending sweep verifies later
        log.warning("message.verify.enqueue_failed", messageId=message_id, error=str(exc))


def verify_once(message_id: str, attempt_id: int, *, policy: RetryPolicy, final: bool = False) -> str:
    message = Message.objects.filter(pk=message_id).first()
    attempt = SendAttempt.objects.select_related("line__device").filter(pk=attempt_id).first()
    if message is None or attempt is None or message.status != Status.SENDING:
        return GONE
    if attempt.outcome not in (SendAttempt.Outcome.UNKNOWN, SendAttempt.Outcome.IN_FLIGHT):
        return GONE
    if attempt.line is None or attempt.line.device is None:
        return GONE
    relay = relay_for_device(attempt.line.device)
    since_ms = int(attempt.started_at.timestamp() * 1000) - LOOKBACK_MS
    summary = attempt.request_summary or {}
    text = summary.get("text", message.body)
    pending = summary.get("pendingPart") or {}
    attachment_name = pending.get("name", "") if pending.get("kind") == "attachment" else ""
    try:
        rows = relay.find_sent(address=attempt.to_address, text=text, since_ms=since_ms,
                               attachment_name=attachment_name)
    except RelayError as exc:
        log.warning("message.verify.relay_error", messageId=message_id, error=str(exc))
        rows = None

    if rows:
        taken = set(Message.objects.filter(external_message_id__in=[r.guid for r in rows])
                    .exclude(pk=message_id).values_list("external_message_id", flat=True))
        candidates = sorted((r for r in rows if r.guid not in taken), key=lambda r: r.date_created_ms)
        if candidates:
            found = candidates[0]
            if found.error == 0:
                from messaging.relay_send import part_confirmed

                log.info("message.verify.found", messageId=message_id, guid=found.guid, part=pending.get("key"))
                result = part_confirmed(message_id, attempt.pk, found.guid, policy=policy, inline=False)
                return SENT if result == "sent" else result
            attempt_finish(attempt.pk, outcome=SendAttempt.Outcome.NOT_SENT, error_class="device_error",
                           error=f"device marked the message failed (error {found.error})")
            retry_or_fail(message, error=f"device reported error {found.error}", code="DEVICE_ERROR", policy=policy)
            return NOT_SENT

    deadline_passed = attempt.verify_until is None or timezone.now() >= attempt.verify_until
    if rows is None:
        # Nothing can be concluded while the relay is unreachable.
        return PENDING
    if not (deadline_passed or final):
        return PENDING
    attempt_finish(attempt.pk, outcome=SendAttempt.Outcome.NOT_SENT, error_class=attempt.error_class or "unknown",
                   error=f"{attempt.error} — not found on the device after verification".strip(" —"))
    log.info("message.verify.not_found", messageId=message_id, attemptId=attempt.pk)
    retry_or_fail(message, error="send not confirmed by the device", code="SEND_NOT_CONFIRMED", policy=policy)
    return NOT_SENT
