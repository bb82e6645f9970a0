"""The email channel: one message over the email line's own SMTP server (lines.smtp).

Addresses in the spec's order: the message's email, then the lead's altEmail1-3. A permanent refusal
of the recipient by the server (5xx on RCPT) moves on to the next address at once; a temporary one is
retried on the same address after the gap. A hard bounce that comes back later (to the line's inbound
hook) moves the message on too (messaging.inbound.tracking).

Each send gets a generated Message-ID, recorded on the message before the SMTP call so a reply
threads onto it (In-Reply-To / References); an email on a thread they wrote on names their latest
email. SMTP errors are classified by reply code: 5xx permanent, 4xx and connection trouble
transient; a failure after the data may have been handed over is "maybe sent" and is never retried
(an SMTP server cannot be asked afterwards).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from django.utils import timezone

from lines.models import Line
from lines.smtp import RECIPIENT_REFUSED, new_message_id_header, smtp_check_line, smtp_deliver, smtp_prepare
from messaging.models import Direction, Message, MessageType, SendAttempt
from messaging.personalize import render_message
from messaging.send import attempts, state
from messaging.send.claim import Claimed
from messaging.send.outcome import Outcome, Result
from tuco.send_errors import SendError


@dataclass(frozen=True)
class EmailResult:
    message_id_header: str  # e.g. "<174…@mail.tuco.ai>", angle brackets included


def email_send(*, line: Line, to: str, subject: str, body: str, message_id: str,
               in_reply_to: str = "") -> EmailResult:
    """Send one plain-text email from `line` to `to`, recording its Message-ID on the message first;
    raises SendError."""
    smtp_check_line(line)
    header = new_message_id_header(message_id)
    email = smtp_prepare(line=line, to=to, subject=subject, body=body, header=header, in_reply_to=in_reply_to)
    if message_id:
        state.record_email_message_id(message_id, header)
    smtp_deliver(email, line=line, message_id=message_id)
    return EmailResult(message_id_header=header)


def _subject(message: Message, line_name: str) -> str:
    return message.subject or f"Message from {line_name}"


def email_answered(message: Message) -> str:
    """The Message-ID of the latest email they sent on this thread before this one: the reply names it in
    In-Reply-To/References, so their mail client shows it in the same conversation."""
    if not message.thread_id:
        return ""
    return (Message.objects.filter(thread_id=message.thread_id, direction=Direction.INBOUND,
                                   message_type=MessageType.EMAIL, external_message_id__startswith="<",
                                   created_at__lte=message.created_at)
            .order_by("-created_at").values_list("external_message_id", flat=True).first() or "")


def email_addresses(message: Message) -> list[str]:
    """The spec's priority: recipientEmail, then the lead's email → altEmail1-3; no duplicates (the address
    being sent to marks the place in this list, it does not reorder it)."""
    raw = [message.recipient_email]
    if message.lead_id and message.lead is not None:
        raw.extend(message.lead.emails())
    raw.append(message.send_to_address)
    seen: list[str] = []
    for value in raw:
        address = (value or "").strip().lower()
        if "@" in address and address not in seen:
            seen.append(address)
    return seen


def next_email_address(message: Message, after: str) -> str | None:
    addresses = email_addresses(message)
    if after.lower() not in addresses:
        return None
    later = addresses[addresses.index(after.lower()) + 1:]
    return later[0] if later else None


class EmailChannel:
    attempt_channel: ClassVar[str] = "smtp"
    uses_line: ClassVar[bool] = True
    can_verify: ClassVar[bool] = False

    def send(self, claimed: Claimed, *, resume: bool = False) -> Outcome:
        message, line, attempt = claimed.message, claimed.line, claimed.attempt
        assert line is not None and attempt is not None
        address = message.send_to_address
        body = render_message(message, line=line)
        state.record_rendered_body(message, body)  # what the recipient gets (the Unibox shows it)
        while True:
            started = timezone.now()
            try:
                result = email_send(line=line, to=address, subject=_subject(message, line.display_name),
                                    body=body, message_id=message.pk,
                                    in_reply_to=email_answered(message))
            except SendError as error:
                attempts.attempt_finish(attempt.pk, outcome=SendAttempt.Outcome.UNKNOWN if error.maybe_sent
                                        else SendAttempt.Outcome.NOT_SENT, started=started,
                                        response_code=error.response_code, error_class=error.code,
                                        error=error.message)
                alternate = next_email_address(message, address) if \
                    error.permanent and error.kind == RECIPIENT_REFUSED else None
                if alternate is None:
                    return Outcome(Result.FAILED if error.permanent else Result.TRANSIENT, error=error)
                # The server refused this address for good: the next one, in a new attempt of the same claim.
                address = alternate
                state.record_send_to(message.pk, address)
                attempt = attempts.attempt_open(message_id=message.pk, channel=self.attempt_channel,
                                                line_id=line.pk, to_address=address, started_at=timezone.now())
                continue
            attempts.attempt_finish(attempt.pk, outcome=SendAttempt.Outcome.SENT, started=started, response_code=250,
                                    external_id=result.message_id_header)
            return Outcome(Result.SENT, external_id=result.message_id_header, via="smtp_accepted",
                           attempt_id=attempt.pk)

    def verify(self, message: Message, attempt: SendAttempt, *, final: bool) -> Outcome:
        raise NotImplementedError("an SMTP server cannot be asked whether an ambiguous send went out")
