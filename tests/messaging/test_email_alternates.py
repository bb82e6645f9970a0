"""Email alternates (spec priority for messageType "email": email → altEmail1-3), against a real local SMTP
server: a permanent refusal of the recipient moves on to the next address, a temporary one retries the same
address, and a hard bounce that comes back later moves the message on (or fails it when none is left)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from messaging.models import Message, SendAttempt
from messaging.send.dispatcher import send_message
from tests.factories import LeadFactory, LineFactory
from tests.fallback.test_email_channel import Mailbox, smtp_server

pytestmark = pytest.mark.django_db


class PickyMailbox(Mailbox):
    """Refuses some recipients at RCPT with the reply given."""

    def __init__(self, refuse: dict[str, str]) -> None:
        super().__init__()
        self.refuse = refuse

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        if address.lower() in self.refuse:
            return self.refuse[address.lower()]
        envelope.rcpt_tos.append(address)
        return "250 OK"


def _email_line(workspace: Any, port: int) -> Any:
    return LineFactory(workspace=workspace, device=None, channel_type="email", phone="", email="sales@acme.test",
                       smtp_host="127.0.0.1", smtp_port=port)


def _lead(workspace: Any) -> Any:
    return LeadFactory(workspace=workspace, phone="", email="gone@example.com", alt_email1="new@example.com",
                       alt_email2="last@example.com")


def _send(api: Any, lead: Any) -> Message:
    response = api.post("/api/messages", {"message": "Hello", "messageType": "email", "leadId": lead.pk},
                        format="json")
    assert response.status_code == 201, response.content
    return Message.objects.get(pk=response.json()["message"]["_id"])


def test_a_refused_recipient_moves_on_to_the_next_alternate_in_the_same_send(api, workspace) -> None:
    mailbox = PickyMailbox({"gone@example.com": "550 5.1.1 <gone@example.com>: User unknown"})
    with smtp_server(mailbox) as port:
        _email_line(workspace, port)
        message = _send(api, _lead(workspace))
        assert message.send_to_address == "gone@example.com"
        assert send_message(message.pk) == "sent"
    [(_, rcpt_tos, _)] = mailbox.envelopes
    assert rcpt_tos == ["new@example.com"]
    message.refresh_from_db()
    assert message.status == "sent" and message.send_to_address == "new@example.com"
    attempts = list(SendAttempt.objects.filter(message=message).order_by("number").values_list(
        "to_address", "outcome", "error_class"))
    assert attempts == [("gone@example.com", "not_sent", "SMTP_550"), ("new@example.com", "sent", "")]


def test_a_temporary_refusal_retries_the_same_address(api, workspace) -> None:
    mailbox = PickyMailbox({"gone@example.com": "450 4.2.1 Mailbox busy, try later"})
    with smtp_server(mailbox) as port:
        _email_line(workspace, port)
        message = _send(api, _lead(workspace))
        assert send_message(message.pk) == "waiting"
    message.refresh_from_db()
    assert (message.status, message.queued_reason, message.send_to_address) == (
        "queued", "retry_wait", "gone@example.com")
    assert mailbox.envelopes == []


def _dsn(*, recipient: str, status: str, original_id: str) -> bytes:
    """A delivery status notification as Postfix writes one (RFC 3464)."""
    action = "failed" if status.startswith("5") else "delayed"
    return (
        "From: MAILER-DAEMON@mx.example.com\r\nTo: sales@acme.test\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn-{n}@mx.example.com>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.com\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: {action}\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: smtp; 550 {status} No such user\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: sales@acme.test\r\nTo: {recipient}\r\nMessage-ID: {original_id}\r\nSubject: Hello\r\n\r\n"
        "--B--\r\n"
    ).replace("{n}", recipient.split("@")[0] + status).encode()


def _post_bounce(line: Any, raw: bytes) -> Any:
    return Client().post(f"/hooks/email/{line.pk}?secret={line.webhook_secret}", data=raw,
                         content_type="message/rfc822")


def test_a_hard_bounce_moves_the_email_on_then_fails_it_when_no_address_is_left(api, workspace) -> None:
    mailbox = Mailbox()
    with smtp_server(mailbox) as port:
        line = _email_line(workspace, port)
        message = _send(api, _lead(workspace))
        assert send_message(message.pk) == "sent"
        for bounced, expected in (("gone@example.com", "bounced"), ("new@example.com", "bounced"),
                                  ("last@example.com", "failed")):
            message.refresh_from_db()
            assert message.send_to_address == bounced
            answer = _post_bounce(line, _dsn(recipient=bounced, status="5.1.1",
                                             original_id=message.email_message_id))
            assert answer.status_code == 200 and answer.json()["result"] == expected, answer.content
            assert _post_bounce(line, _dsn(recipient=bounced, status="5.1.1", original_id=message.email_message_id)
                                ).json()["result"] in ("stale", "unknown")  # a repeat changes nothing
            message.refresh_from_db()
            if expected == "bounced":
                assert (message.status, message.queued_reason) == ("queued", "retry_wait")
                assert send_message(message.pk) == "sent"
    assert [rcpt for _, [rcpt], _ in mailbox.envelopes] == ["gone@example.com", "new@example.com",
                                                            "last@example.com"]
    message.refresh_from_db()
    assert message.status == "failed" and message.error_code == "EMAIL_BOUNCED"
    assert not Message.objects.filter(direction="inbound").exists()  # a bounce is not a reply


def test_a_soft_bounce_or_a_foreign_message_id_changes_nothing(api, workspace) -> None:
    mailbox = Mailbox()
    with smtp_server(mailbox) as port:
        line = _email_line(workspace, port)
        message = _send(api, _lead(workspace))
        assert send_message(message.pk) == "sent"
    message.refresh_from_db()
    soft = _post_bounce(line, _dsn(recipient="gone@example.com", status="4.2.2", original_id=message.email_message_id))
    assert soft.json()["result"] == "received"  # not a hard bounce: read as a reply from the mail system
    other_line = LineFactory(device=None, channel_type="email", phone="", email="x@other.test", smtp_host="h")
    foreign = _post_bounce(other_line, _dsn(recipient="gone@example.com", status="5.1.1",
                                            original_id=message.email_message_id))
    assert foreign.json()["result"] == "unknown"  # another workspace's line cannot bounce our email
    message.refresh_from_db()
    assert message.status == "sent" and message.send_to_address == "gone@example.com"
