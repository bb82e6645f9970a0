"""The email channel against a real local SMTP server (aiosmtpd on a free loopback port)."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message as MimeMessage
from email.utils import parseaddr
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from messaging.send.channels.email import email_send
from tests.factories import LineFactory, MessageFactory
from tuco.send_errors import SendError


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Mailbox:
    reject_rcpt: str = ""  # e.g. "550 5.1.1 <x>: Recipient address rejected: User unknown"
    envelopes: list[tuple[str, list[str], MimeMessage]] = field(default_factory=list)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        if self.reject_rcpt:
            return self.reject_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos),
                               email.message_from_bytes(envelope.original_content)))
        return "250 Message accepted for delivery"


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"sales" and auth_data.password == b"s3cret!"
    return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535 itself


@contextmanager
def smtp_server(mailbox: Mailbox, **kwargs: Any) -> Iterator[int]:
    port = _free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def _line(workspace: Any, port: int, **kw: Any) -> Any:
    return LineFactory(workspace=workspace, device=None, channel_type="email", phone="", email="sales@acme.test",
                       smtp_host="127.0.0.1", smtp_port=port, **kw)


def test_email_is_delivered_with_a_message_id(workspace) -> None:
    mailbox = Mailbox()
    message = MessageFactory(workspace=workspace, message_type="email", status="sending",
                             recipient_email="jane@example.com", send_to_address="jane@example.com")
    with smtp_server(mailbox) as port:
        result = email_send(line=_line(workspace, port), to="jane@example.com", subject="Quick question",
                            body="Hi Jane,\nare you free Tuesday?", message_id=message.pk)
    [(mail_from, rcpt_tos, received)] = mailbox.envelopes
    assert mail_from == "sales@acme.test" and rcpt_tos == ["jane@example.com"]
    assert parseaddr(received["From"])[1] == "sales@acme.test" and received["To"] == "jane@example.com"
    assert received["Subject"] == "Quick question"
    text = received.get_payload(decode=True).decode().replace("\r\n", "\n")
    assert text.rstrip("\n") == "Hi Jane,\nare you free Tuesday?"
    assert received["Message-ID"] == result.message_id_header
    assert result.message_id_header.startswith("<") and result.message_id_header.endswith("@mail.tuco.ai>")
    assert result.message_id_header.startswith(f"<{message.pk}.")
    message.refresh_from_db()
    assert message.email_message_id == result.message_id_header


def test_reply_is_threaded(workspace) -> None:
    mailbox = Mailbox()
    with smtp_server(mailbox) as port:
        result = email_send(line=_line(workspace, port, first_name="Sam", last_name="Sales"), to="jane@example.com",
                            subject="Re: Quick question", body="Great!", message_id="",
                            in_reply_to="CAB123@mail.example.com")
    received = mailbox.envelopes[0][2]
    assert received["In-Reply-To"] == "<CAB123@mail.example.com>"
    assert received["References"] == "<CAB123@mail.example.com>"
    assert parseaddr(received["From"]) == ("Sam Sales", "sales@acme.test")
    assert received["Message-ID"] == result.message_id_header


@pytest.mark.parametrize("reply,permanent,code", [
    ("550 5.1.1 <jane@example.com>: Recipient address rejected: User unknown", True, "SMTP_550"),
    ("451 4.7.1 Greylisted, try again later", False, "SMTP_451"),
])
def test_recipient_refusals_are_classified(workspace, reply, permanent, code) -> None:
    mailbox = Mailbox(reject_rcpt=reply)
    with smtp_server(mailbox) as port, pytest.raises(SendError) as caught:
        email_send(line=_line(workspace, port), to="jane@example.com", subject="s", body="b", message_id="")
    assert caught.value.permanent is permanent and caught.value.code == code
    assert mailbox.envelopes == []


def test_unreachable_server_is_transient(workspace) -> None:
    with pytest.raises(SendError) as caught:
        email_send(line=_line(workspace, _free_port()), to="jane@example.com", subject="s", body="b", message_id="")
    assert not caught.value.permanent and caught.value.code == "SMTP_CONNECTION" and not caught.value.maybe_sent


def test_login_with_the_line_credentials(workspace) -> None:
    mailbox = Mailbox()
    with smtp_server(mailbox, authenticator=_authenticator, auth_require_tls=False) as port:
        email_send(line=_line(workspace, port, smtp_username="sales", smtp_password="s3cret!"), to="jane@example.com",
                   subject="s", body="b", message_id="")
        assert len(mailbox.envelopes) == 1
        with pytest.raises(SendError) as caught:
            email_send(line=_line(workspace, port, smtp_username="sales", smtp_password="wrong"),
                       to="jane@example.com", subject="s", body="b", message_id="")
    assert caught.value.permanent and caught.value.code == "SMTP_535" and "wrong" not in caught.value.message
    assert len(mailbox.envelopes) == 1


def test_header_injection_is_refused_before_connecting(workspace) -> None:
    mailbox = Mailbox()
    with smtp_server(mailbox) as port, pytest.raises(SendError) as caught:
        email_send(line=_line(workspace, port), to="jane@example.com", subject="hi\nBcc: all@example.com", body="b",
                   message_id="")
    assert caught.value.permanent and caught.value.code == "EMAIL_BAD_HEADER" and mailbox.envelopes == []


def test_line_without_smtp_settings(workspace) -> None:
    line = LineFactory(workspace=workspace, device=None, channel_type="email", email="sales@acme.test", smtp_host="")
    with pytest.raises(SendError) as caught:
        email_send(line=line, to="jane@example.com", subject="s", body="b", message_id="")
    assert caught.value.permanent and caught.value.code == "SMTP_NOT_CONFIGURED"
