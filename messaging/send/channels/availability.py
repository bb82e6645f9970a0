"""The availability step of an iMessage send (spec: "What happens after the API call", step 3).

Runs after the claim and before the relay call whenever the workspace has a line with the Private API
(spec: "If the workspace has a line with Private API, Tuco checks whether the recipient supports
iMessage"): the sending line checks when its own Mac has the Private API, otherwise one of the
workspace's Private API lines does (round-robin), spending that line's daily check budget.
Addresses are tried in the spec's order — phone → altPhone1-3 → email → altEmail1-3 — and the first
one on iMessage becomes the send-to address. None → `UNAVAILABLE` (the send path sets status
`fallback`, with the checked addresses, which fires the fallback when one is configured). A relay
error during the check → the line's fault (relay down, Private API helper gone) or `failed`
("availability API error"), as the spec says. No budget left on any line → the message waits, with
the moment a budget resets.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from leads.models import Lead
from leads.services import lead_record_availability
from lines.availability import checking_lines, first_available
from messaging.models import Message, QueuedReason, SendAttempt
from messaging.send import attempts, state
from messaging.send.claim import Claimed
from messaging.send.outcome import Block, Outcome, Result
from tuco.send_errors import SendError

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


def resolve_address(claimed: Claimed, lead: Lead | None) -> tuple[str | None, Outcome | None]:
    """(address to send to, None) — or (None, the outcome instead). The address stays the message's own
    when the workspace has no line that can check."""
    message, line, attempt = claimed.message, claimed.line, claimed.attempt
    assert line is not None and line.device is not None and attempt is not None
    sender_checks = line.device.private_api
    lines = checking_lines(workspace_id=message.workspace_id, first=line if sender_checks else None)
    if not lines:
        return message.send_to_address, None
    now = timezone.now()
    outcome = first_available(workspace_id=message.workspace_id, addresses=imessage_addresses(message, lead),
                              lines=lines, now=now)
    detail: dict[str, Any] = {"checks": [{"address": c.address, "available": c.available, "cached": c.cached}
                                         for c in outcome.checks]}
    state.record_fact(message.pk, reason="availability_checked", detail=detail)

    if outcome.error is not None:
        attempts.attempt_finish(attempt.pk, outcome=SendAttempt.Outcome.NOT_SENT, error_class="availability",
                                error=outcome.error.message)
        if outcome.error.line_fault and sender_checks:
            return None, Outcome(Result.LINE_FAULT, error=outcome.error)
        if outcome.error.line_fault:
            # Every checking Mac is down (each went unhealthy) but the sending line is fine: send as a
            # workspace without a Private API line does, rather than hold the message for a helper.
            state.record_fact(message.pk, reason="availability_skipped", detail={"error": outcome.error.message})
            return message.send_to_address, None
        return None, Outcome(Result.FAILED, error=SendError(f"availability API error: {outcome.error.message}",
                                                            "AVAILABILITY_ERROR", True))

    if outcome.budget_exhausted_until is not None:
        attempts.attempt_finish(attempt.pk, outcome=SendAttempt.Outcome.NOT_SENT, error_class="availability_budget",
                                error="daily availability check quota exhausted")
        return None, Outcome(Result.WAIT, block=Block(QueuedReason.AVAILABILITY_BUDGET, outcome.budget_exhausted_until,
                                                      "every line spent today's availability checks", line.pk))

    if outcome.address is None:
        attempts.attempt_finish(attempt.pk, outcome=SendAttempt.Outcome.NOT_SENT, error_class="not_on_imessage",
                                error=NOT_ON_IMESSAGE)
        if lead is not None:
            lead_record_availability(lead_id=lead.pk, available=False, at=now)
        return None, Outcome(Result.UNAVAILABLE, error=SendError(NOT_ON_IMESSAGE, "NOT_ON_IMESSAGE", True),
                             checked_addresses=outcome.checked_addresses, from_cache=outcome.decided_by_cache)

    changed = outcome.address != message.send_to_address
    if changed:
        attempts.attempt_set_address(attempt.pk, outcome.address)
    state.record_availability(message.pk, address=outcome.address, send_to_changed=changed,
                              checked_addresses=outcome.checked_addresses, from_cache=outcome.decided_by_cache)
    if lead is not None:
        lead_record_availability(lead_id=lead.pk, available=True, at=now)
    return outcome.address, None
