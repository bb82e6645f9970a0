"""The availability step of an iMessage send (spec: "What happens after the API call", step 3).

Runs after the claim and before the relay call, only when the sending line's
Mac has the Private API. Addresses are tried in the spec's order — phone →
altPhone1-3 → email → altEmail1-3 — and the first one on iMessage becomes the
send-to address. None → status `fallback` (reason + checkedAddresses), which
fires the fallback when one is configured. A relay error during the check →
`failed` ("availability API error"), as the spec says. No budget left on any
line → the message waits, with the moment a budget resets.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from leads.models import Lead
from lines.availability import checking_lines, first_available
from lines.relay.errors import RelayErrorKind
from messaging import lifecycle
from messaging.claim import Claimed
from messaging.fallback_hook import after_unavailable
from messaging.gates import Block
from messaging.models import Message, SendAttempt, Status
from messaging.outcomes import attempt_finish, fail, release_reservation, wait
from tuco.logging import get_logger

log = get_logger(__name__)

NOT_ON_IMESSAGE = "Contact not available on iMessage"


def imessage_addresses(message: Message, lead: Lead | None) -> list[str]:
    phone = message.recipient_phone or (lead.phone if lead else "")
    email = message.recipient_email or (lead.email if lead else "")
    ordered = [message.send_to_address if message.send_to_address == phone else phone]
    if lead:
        ordered += [lead.alt_phone1, lead.alt_phone2, lead.alt_phone3]
    ordered.append(email)
    if lead:
        ordered += [lead.alt_email1, lead.alt_email2, lead.alt_email3]
    if message.send_to_address and message.send_to_address not in ordered:
        ordered.insert(0, message.send_to_address)
    seen: list[str] = []
    for address in ordered:
        if address and address not in seen:
            seen.append(address)
    return seen


def resolve_address(claimed: Claimed, lead: Lead | None) -> tuple[str | None, str]:
    """(address to send to, "") — or (None, what happened instead: "fallback" | "failed" | "waiting")."""
    message, line, attempt = claimed.message, claimed.line, claimed.attempt
    assert line is not None and attempt is not None
    now = timezone.now()
    outcome = first_available(workspace_id=message.workspace_id, addresses=imessage_addresses(message, lead),
                              lines=checking_lines(workspace_id=message.workspace_id, first=line), now=now)
    detail: dict[str, Any] = {"checks": [{"address": c.address, "available": c.available, "cached": c.cached}
                                         for c in outcome.checks]}
    lifecycle.record_fact(message.pk, reason="availability_checked", detail=detail)

    if outcome.error is not None:
        attempt_finish(attempt.pk, outcome=SendAttempt.Outcome.NOT_SENT, error_class="availability",
                       error=outcome.error.message)
        if outcome.error.kind in (RelayErrorKind.PRIVATE_API, RelayErrorKind.PERMANENT, RelayErrorKind.NOT_SENT):
            from messaging.relay_send import line_fault

            return None, line_fault(claimed, outcome.error)
        fail(message, error=f"availability API error: {outcome.error.message}", code="AVAILABILITY_ERROR")
        return None, "failed"

    if outcome.budget_exhausted_until is not None:
        attempt_finish(attempt.pk, outcome=SendAttempt.Outcome.NOT_SENT, error_class="availability_budget",
                       error="daily availability check quota exhausted")
        release_reservation(message.pk)
        wait(message, Block("availability_budget", outcome.budget_exhausted_until,
                            "every line spent today's availability checks", line.pk),
             from_statuses=(Status.SENDING,), extra_fields={"attempt_count": max(0, message.attempt_count - 1)})
        return None, "waiting"

    if outcome.address is None:
        attempt_finish(attempt.pk, outcome=SendAttempt.Outcome.NOT_SENT, error_class="not_on_imessage",
                       error=NOT_ON_IMESSAGE)
        release_reservation(message.pk)
        moved = lifecycle.transition(
            message.pk, to=Status.FALLBACK, allowed_from=(Status.SENDING,), reason="not_on_imessage",
            fields={"fallback_reason": NOT_ON_IMESSAGE, "checked_addresses": outcome.checked_addresses,
                    "availability_from_cache": outcome.decided_by_cache, "sending_since": None,
                    "next_attempt_at": None},
            detail={"checkedAddresses": outcome.checked_addresses},
        )
        if lead is not None:
            Lead.objects.filter(pk=lead.pk).update(availability_status=Lead.Availability.UNAVAILABLE,
                                                   availability_checked_at=now)
        if moved is not None:
            log.info("message.fallback", messageId=message.pk, reason=NOT_ON_IMESSAGE,
                     checkedAddresses=outcome.checked_addresses, correlationId=message.correlation_id)
            after_unavailable(moved)
        return None, "fallback"

    fields: dict[str, Any] = {"checked_addresses": outcome.checked_addresses,
                              "availability_from_cache": outcome.decided_by_cache}
    if outcome.address != message.send_to_address:
        fields["send_to_address"] = outcome.address
        SendAttempt.objects.filter(pk=attempt.pk).update(to_address=outcome.address)
    lifecycle.update_fields(message.pk, allowed_statuses=(Status.SENDING,), **fields)
    if lead is not None:
        Lead.objects.filter(pk=lead.pk).update(availability_status=Lead.Availability.AVAILABLE,
                                               availability_checked_at=now)
    return outcome.address, ""
