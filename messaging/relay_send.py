"""iMessage through the line's device relay, for a message this worker has claimed.

claim (committed) → render → relay call → result. A send whose outcome is
unknown (timeout, dropped connection, 5xx, tempGuid in flight) is never
retried blindly: it is verified against the relay first (messaging.verification).
"""

from __future__ import annotations

from django.utils import timezone

from leads.models import Lead
from lines.health import device_mark_unhealthy
from lines.relay.base import relay_for_device
from lines.relay.bluebubbles import chat_guid
from lines.relay.errors import RelayError, RelayErrorKind
from messaging import verification
from messaging.claim import Claimed
from messaging.gates import Block
from messaging.models import SendAttempt, Status
from messaging.outcomes import RetryPolicy, attempt_finish, fail, mark_sent, release_reservation, wait
from messaging.personalize import lead_values, render
from tuco.logging import get_logger

log = get_logger(__name__)


def send_via_relay(claimed: Claimed, *, policy: RetryPolicy, inline: bool, lead: Lead | None = None) -> str:
    """Returns the outcome: "sent", "waiting", "failed" or "verifying"."""
    message, line, attempt = claimed.message, claimed.line, claimed.attempt
    assert line is not None and line.device is not None and attempt is not None
    device = line.device
    relay = relay_for_device(device)
    address = message.send_to_address
    if device.private_api:
        from messaging.availability_step import resolve_address

        resolved, instead = resolve_address(claimed, lead)
        if resolved is None:
            return instead
        address = resolved
    text = render(message.body, lead_values(lead, message))
    summary = {"chatGuid": chat_guid(address, prefix=device.chat_guid_prefix or "iMessage"),
               "method": "private-api" if device.private_api else "apple-script",
               "tempGuid": attempt.temp_guid, "text": text}
    SendAttempt.objects.filter(pk=attempt.pk).update(request_summary=summary)
    started = timezone.now()
    try:
        sent = relay.send_text(address=address, text=text, temp_guid=attempt.temp_guid)
    except RelayError as error:
        return _relay_failed(claimed, error, started=started, policy=policy, inline=inline)
    attempt_finish(attempt.pk, outcome=SendAttempt.Outcome.SENT, started=started, response_code=200,
                   external_id=sent.guid)
    if sent.error:
        # The device wrote the row but marked it failed: the message did not go out.
        return _not_sent(claimed, f"device reported error {sent.error}", "DEVICE_ERROR", policy)
    mark_sent(message.pk, guid=sent.guid, via="relay_accepted", attempt_id=attempt.pk)
    return "sent"


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
