"""Email replies: a raw RFC 822 message (as an inbound-mail service forwards it) → the reply's facts.

Inbound-mail routes that POST the untouched message work: Mailgun's forward to a URL ending in "mime"
(`body-mime` form field), SendGrid Inbound Parse with "POST the raw, full MIME message" (`email` form
field), or a local `procmail`/`sieve`/MTA pipe doing `curl --data-binary @- <url>` (the raw body).
Services that only post their own JSON rendering (Postmark, SES via SNS) need such a pipe in front. We read it
with the standard library's `email` parser and keep what the thread needs: who wrote, which of our
emails it answers (In-Reply-To / References against the Message-ID we recorded when sending), the
new text without the quoted history (so "STOP" above a quote still opts out), and attachment names.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from urllib.parse import parse_qs, urlencode

from django.conf import settings

from lines.models import Line
from messaging.inbound.events import EventType, InboundEvent
from messaging.inbound.html_text import html_to_text

# Where the quoted history of a reply starts, in the forms mail clients write it.
_QUOTE_STARTS = (
    re.compile(r"^On .{4,300}wrote:\s*$"),  # Gmail, Apple Mail, Thunderbird ("On Mon, … <x@y> wrote:")
    re.compile(r"^-{2,}\s*Original Message\s*-{2,}\s*$", re.I),  # Outlook
    re.compile(r"^_{10,}\s*$"),  # Outlook's rule before From:/Sent:
    re.compile(r"^From: .+$"),  # a forwarded/quoted header block
    re.compile(r"^>"),  # plain quoting
)
_MESSAGE_ID = re.compile(r"<[!-;=?-~]+>")  # printable ASCII, no spaces or brackets: safe to echo in headers
_SENDER = re.compile(r"^[^\s@\x00]+@[^\s@\x00]+$")
MAX_ADDRESS = 254
MAX_TEXT = 100_000
MAX_PLAIN = 500_000  # characters of a text/plain body examined (HTML: messaging.inbound.html_text.MAX_HTML)
# Characters of a header value examined: the standard library's header parser costs ~25 µs a character
# (160 KB of "a@b," in From took 4 s). Addresses are at most 254; the message-id headers are read
# with one linear regex, References from its end (the newest ids are last).
MAX_HEADER = 2_000
MAX_REFERENCES = 20_000
MAX_EXTERNAL_ID = 100


class NotAnEmail(ValueError):
    pass


@dataclass(frozen=True)
class InboundEmail:
    sender: str  # the From address, lower-cased
    message_id: str  # the Message-ID header, or a digest of the raw bytes when it has none
    answers: list[str] = field(default_factory=list)  # In-Reply-To then References, nearest first
    text: str = ""
    subject: str = ""
    attachment_names: list[str] = field(default_factory=list)
    received_at: datetime | None = None
    bounce: Bounce | None = None  # a delivery status notification (RFC 3464) saying a recipient failed


@dataclass(frozen=True)
class Bounce:
    """A hard bounce: the remote server refused `recipient` for good (Action: failed, Status: 5.x.x)."""

    recipient: str
    status: str  # e.g. "5.1.1"
    diagnostic: str
    original_message_ids: list[str]  # the bounced email's Message-ID (from the returned headers) first


def inbound_email_url(line: Line) -> str:
    """Where the line's inbound-mail service POSTs replies (the secret authenticates it)."""
    return f"{settings.TUCO_PUBLIC_URL}/hooks/email/{line.pk}?{urlencode({'secret': line.webhook_secret})}"


def reply_text(body: str) -> str:
    """The new part of a reply: everything above the first line where quoted history starts."""
    kept: list[str] = []
    for line in body.replace("\r\n", "\n").split("\n"):
        if any(pattern.match(line.strip()) for pattern in _QUOTE_STARTS):
            break
        kept.append(line)
    return "\n".join(kept).strip()[:MAX_TEXT]


def _part_text(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except (LookupError, UnicodeError, ValueError):  # an unknown or lying charset: keep what decodes
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    return content if isinstance(content, str) else ""


def _body_text(mail: EmailMessage) -> str:
    part = mail.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = _part_text(part)
    if part.get_content_subtype() == "html":
        content = html_to_text(content)
    else:
        content = content[:MAX_PLAIN]
    return content.replace("\x00", "")  # PostgreSQL text cannot hold NUL


def _message_ids(*headers: str | None) -> list[str]:
    found: list[str] = []
    for header in headers:
        for value in reversed(_MESSAGE_ID.findall(header or "")):  # References lists the oldest first
            if value not in found:
                found.append(value)
    return found


def form_field(body: bytes, content_type: str, names: tuple[str, ...]) -> bytes:
    """The first of `names` in a form body (urlencoded or multipart/form-data), as bytes; b"" if absent."""
    if content_type.startswith("application/x-www-form-urlencoded"):
        fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        return next((fields[n][0].encode() for n in names if fields.get(n)), b"")
    form = message_from_bytes(b"Content-Type: " + content_type.encode("latin-1", "replace") + b"\r\n\r\n" + body,
                              policy=policy.compat32)
    by_name = {part.get_param("name", header="content-disposition"): part for part in form.walk()
               if not part.is_multipart()}
    for name in names:
        if name in by_name:
            payload = by_name[name].get_payload(decode=True)
            return payload if isinstance(payload, bytes) else b""
    return b""


def parse_inbound_email(raw: bytes) -> InboundEmail:
    try:
        return _parse(raw)
    # RecursionError: the header parser recurses once per "(" of a nested comment
    except (ValueError, LookupError, UnicodeError, IndexError, TypeError, RecursionError) as exc:  # untrusted bytes
        raise NotAnEmail(f"unreadable message ({type(exc).__name__})") from None


def _raw_header(mail: EmailMessage, name: str) -> str:
    """The header's value as sent (folded, undecoded), without running the header parser on it."""
    wanted = name.lower()
    return next((str(value) for key, value in mail.raw_items() if key.lower() == wanted), "")


def _header(mail: EmailMessage, name: str) -> str:
    """The header decoded (RFC 2047 words, address syntax), from its first MAX_HEADER characters."""
    raw = _raw_header(mail, name)[:MAX_HEADER]
    return str(policy.default.header_fetch_parse(name, raw)) if raw else ""


def _parse(raw: bytes) -> InboundEmail:
    mail = message_from_bytes(raw, policy=policy.default)
    assert isinstance(mail, EmailMessage)
    senders = [address for _, address in getaddresses([_header(mail, "From")]) if "@" in address]
    if not senders:
        raise NotAnEmail("no From address")
    if len(senders[0]) > MAX_ADDRESS or not _SENDER.match(senders[0].strip()):
        raise NotAnEmail("the From address is not a usable email address")
    message_ids = _MESSAGE_ID.findall(_raw_header(mail, "Message-ID")[:MAX_HEADER])
    message_id = message_ids[0] if message_ids else "sha256:" + hashlib.sha256(raw).hexdigest()
    if len(message_id) > MAX_EXTERNAL_ID:  # stored as the message's external id (100 characters)
        message_id = "sha256:" + hashlib.sha256(message_id.encode()).hexdigest()
    answers = _message_ids(_raw_header(mail, "In-Reply-To")[:MAX_HEADER],
                           _raw_header(mail, "References")[-MAX_REFERENCES:])
    try:
        date = _raw_header(mail, "Date")[:MAX_HEADER]
        received_at = parsedate_to_datetime(date) if date else None
        if received_at is not None and received_at.tzinfo is None:
            received_at = received_at.replace(tzinfo=UTC)
        if received_at is not None:  # the sender's claim: never later than now (it orders the Unibox)
            received_at = min(received_at, datetime.now(UTC))
    except (TypeError, ValueError, OverflowError):
        received_at = None
    names = [str(part.get_filename()).replace("\x00", "")[:255] for part in mail.iter_attachments()
             if part.get_filename()]
    subject = " ".join(_header(mail, "Subject").replace("\x00", "").split())[:200]
    return InboundEmail(sender=senders[0].strip().lower(), message_id=message_id, answers=answers,
                        text=reply_text(_body_text(mail)), subject=subject, attachment_names=names,
                        received_at=received_at, bounce=_hard_bounce(mail, answers))


def _hard_bounce(mail: EmailMessage, answers: list[str]) -> Bounce | None:
    """RFC 3464: multipart/report; report-type=delivery-status, a message/delivery-status part whose
    per-recipient fields say `Action: failed` with a 5.x.x `Status`. Soft bounces (4.x.x, `delayed`)
    are the remote MTA's to retry: None."""
    if mail.get_content_type() != "multipart/report" or \
            (mail.get_param("report-type") or "").lower() != "delivery-status":
        return None
    status_part = next((p for p in mail.walk() if p.get_content_type() == "message/delivery-status"), None)
    if status_part is None:
        return None
    payload = status_part.get_payload()
    groups = [g for g in payload if hasattr(g, "get")] if isinstance(payload, list) else []
    for group in groups[1:] or groups:  # the first group is per-message, the rest per-recipient
        action = str(group.get("Action", "")).strip().lower()
        status = str(group.get("Status", "")).strip()[:20]
        final = str(group.get("Final-Recipient", "") or group.get("Original-Recipient", ""))
        recipient = final.split(";", 1)[-1].strip().strip("<>").lower()[:MAX_ADDRESS]
        if action == "failed" and status.startswith("5") and "@" in recipient:
            returned = next((p for p in mail.walk()
                             if p.get_content_type() in ("message/rfc822", "text/rfc822-headers")), None)
            original: list[str] = []
            if returned is not None:
                inner = returned.get_payload(0) if returned.is_multipart() else None
                headers = inner if inner is not None else message_from_bytes(
                    returned.get_payload(decode=True) or b"", policy=policy.default)
                original = _MESSAGE_ID.findall(_raw_header(headers, "Message-ID")[:MAX_HEADER])
            diagnostic = " ".join(str(group.get("Diagnostic-Code", "")).split())[:300]
            return Bounce(recipient=recipient, status=status, diagnostic=diagnostic,
                          original_message_ids=[*original, *answers])
    return None


def bounce_event(bounce: Bounce) -> InboundEvent:
    """A hard bounce is the provider's FAILED for the email it names (by Message-ID)."""
    return InboundEvent(EventType.FAILED, "email", external_id=bounce.original_message_ids[0] if
                        bounce.original_message_ids else "", sender=bounce.recipient, error_code=bounce.status,
                        answers=bounce.original_message_ids, text=bounce.diagnostic)


def reply_event(mail: InboundEmail) -> InboundEvent:
    return InboundEvent(EventType.REPLY, "email", external_id=mail.message_id, channel="email", sender=mail.sender,
                        text=mail.text, received_at=mail.received_at, attachment_names=mail.attachment_names,
                        answers=mail.answers, subject=mail.subject)
