"""An email line's transport: one message over the line's own SMTP server.

Django's email machinery with a per-line connection (host, port, credentials
and TLS mode come from the Line row, never from settings), so lines never
share a mailbox. The caller gives the Message-ID (messaging's email channel
records it on the message first, so replies thread with In-Reply-To /
References).

Errors are classified by SMTP reply code: 5xx is permanent (the server will
refuse again), 4xx and connection trouble are transient. `maybe_sent` marks a
failure after the message data may have been handed over (a dropped
connection mid-send), where a blind retry could deliver twice.
"""

from __future__ import annotations

import secrets
import smtplib
import ssl
from email.utils import formataddr, make_msgid
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import BadHeaderError, EmailMessage, get_connection

from tuco.logging import get_logger
from tuco.send_errors import SendError

if TYPE_CHECKING:
    from lines.models import Line

log = get_logger(__name__)

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
TIMEOUT_SECONDS = 30
DEFAULT_MESSAGE_ID_DOMAIN = "mail.tuco.ai"
RECIPIENT_REFUSED = "recipient_refused"


def message_id_domain() -> str:
    return str(getattr(settings, "TUCO_EMAIL_MESSAGE_ID_DOMAIN", "") or DEFAULT_MESSAGE_ID_DOMAIN)


def new_message_id_header(message_id: str) -> str:
    """`<messageId.random@domain>`: unique per attempt, short enough that the header is never folded."""
    if not message_id:
        return make_msgid(domain=message_id_domain())
    return f"<{message_id}.{secrets.token_hex(6)}@{message_id_domain()}>"


def _bracketed(value: str) -> str:
    value = value.strip()
    return value if value.startswith("<") else f"<{value}>"


def _smtp_text(raw: bytes | str) -> str:
    text = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
    return " ".join(text.split())[:300]


def classify_smtp_error(exc: BaseException, *, during_send: bool) -> SendError:
    """Map an smtplib / socket failure onto permanent (5xx) vs transient (4xx, connection)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(exc.recipients.values()), (450, b"recipient refused"))
        # kind "recipient_refused": the server refused this address, not us (another address may work).
        return SendError(f"SMTP {code}: recipient refused: {_smtp_text(text)}", code=f"SMTP_{code}",
                         permanent=500 <= code < 600, response_code=code, kind=RECIPIENT_REFUSED)
    if isinstance(exc, smtplib.SMTPResponseException):
        code = int(exc.smtp_code)
        what = "authentication failed" if isinstance(exc, smtplib.SMTPAuthenticationError) else "refused"
        return SendError(f"SMTP {code}: {what}: {_smtp_text(exc.smtp_error)}", code=f"SMTP_{code}",
                         permanent=500 <= code < 600, response_code=code)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return SendError(f"SMTP server does not support a required extension: {exc}",
                         code="SMTP_NOT_SUPPORTED", permanent=True)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return SendError(f"SMTP TLS certificate rejected: {exc.verify_message}", code="SMTP_TLS_CERT",
                         permanent=True)
    if isinstance(exc, smtplib.SMTPServerDisconnected | OSError | smtplib.SMTPException):
        return SendError(f"SMTP connection problem: {type(exc).__name__}: {exc}", code="SMTP_CONNECTION",
                         permanent=False, maybe_sent=during_send)
    return SendError(f"SMTP error: {type(exc).__name__}", code="SMTP_ERROR", permanent=False,
                         maybe_sent=during_send)


def _sender(line: Line) -> str:
    name = " ".join(p for p in (line.first_name, line.last_name) if p)
    return formataddr((name, line.email)) if name else line.email


def smtp_check_line(line: Line) -> None:
    if not line.email or not line.smtp_host:
        raise SendError("Email line has no address or SMTP host configured", code="SMTP_NOT_CONFIGURED",
                        permanent=True)


def smtp_prepare(*, line: Line, to: str, subject: str, body: str, header: str,
                 in_reply_to: str = "") -> EmailMessage:
    """The email, checked before any connection: header problems (newlines in the subject) are ours."""
    smtp_check_line(line)
    headers = {"Message-ID": header}
    if in_reply_to:
        headers["In-Reply-To"] = _bracketed(in_reply_to)
        headers["References"] = _bracketed(in_reply_to)
    try:
        connection = get_connection(
            SMTP_BACKEND, host=line.smtp_host, port=line.smtp_port, username=line.smtp_username or None,
            password=line.smtp_password or None, use_tls=line.smtp_use_tls, use_ssl=line.smtp_use_ssl,
            timeout=TIMEOUT_SECONDS, fail_silently=False)
    except ValueError as exc:  # use_tls and use_ssl both set
        raise SendError(f"Email line SMTP settings are invalid: {exc}", code="SMTP_CONFIG",
                        permanent=True) from None
    email = EmailMessage(subject=subject, body=body, from_email=_sender(line), to=[to], headers=headers,
                         connection=connection)
    try:
        email.message()  # header problems (newlines in the subject) are ours: fail before connecting
    except BadHeaderError as exc:
        raise SendError(f"Invalid email header: {exc}", code="EMAIL_BAD_HEADER", permanent=True) from None
    return email


def smtp_deliver(email: EmailMessage, *, line: Line, message_id: str) -> None:
    """Connect and hand the prepared email over; raises SendError (see `.permanent`, `.maybe_sent`)."""
    connection = email.connection
    try:
        connection.open()
    except Exception as exc:
        raise _log_error(classify_smtp_error(exc, during_send=False), line, message_id) from None
    try:
        connection.send_messages([email])
    except Exception as exc:
        raise _log_error(classify_smtp_error(exc, during_send=True), line, message_id) from None
    finally:
        connection.close()
    log.info("email.sent", messageId=message_id, lineId=line.pk, workspaceId=line.workspace_id,
             emailMessageId=email.extra_headers.get("Message-ID"))


def _log_error(error: SendError, line: Line, message_id: str) -> SendError:
    log.warning("email.send_failed", messageId=message_id, lineId=line.pk, workspaceId=line.workspace_id,
                errorCode=error.code, permanent=error.permanent, error=error.message)
    return error
