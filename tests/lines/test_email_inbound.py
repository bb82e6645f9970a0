"""Email replies: POST /hooks/email/<lineId>?secret=… with the raw message lands on the thread it answers."""

from __future__ import annotations

import json
from email.message import EmailMessage
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client, override_settings

from leads.models import DncEntry
from messaging.inbound.email import parse_inbound_email, reply_text
from messaging.models import Message, Thread
from tests.factories import LineFactory, MessageFactory
from webhooks.models import WebhookEndpoint, WebhookEvent

pytestmark = pytest.mark.django_db
OUR_ID = "<6b04d1aa0000000000000001.1732400000@mail.tuco.ai>"


@pytest.fixture
def email_line(workspace: Any) -> Any:
    return LineFactory(workspace=workspace, device=None, channel_type="email", phone="", email="sales@acme.test",
                       smtp_host="127.0.0.1", smtp_port=2525)


@pytest.fixture
def sent_email(workspace: Any, email_line: Any) -> Message:
    thread = Thread.objects.create(workspace=workspace, address="jane@example.com", line=email_line)
    return MessageFactory(workspace=workspace, thread=thread, line=email_line, message_type="email", status="sent",
                          body="Are you free Tuesday?", recipient_email="jane@example.com", recipient_phone="",
                          send_to_address="jane@example.com", email_message_id=OUR_ID, external_message_id=OUR_ID)


def _mail(*, sender: str = "Jane Doe <Jane@Example.com>", text: str = "Tuesday works.", in_reply_to: str = OUR_ID,
          message_id: str = "<reply-1@example.com>", html: str | None = None,
          attachment: tuple[str, bytes] | None = None) -> bytes:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, "sales@acme.test", "Re: Quick question"
    mail["Date"] = "Sat, 23 Nov 2024 18:04:05 +0100"
    if message_id:
        mail["Message-ID"] = message_id
    if in_reply_to:
        mail["In-Reply-To"] = in_reply_to
        mail["References"] = f"<older@mail.tuco.ai> {in_reply_to}"
    mail.set_content(text)
    if html is not None:
        mail.add_alternative(html, subtype="html")
    if attachment:
        mail.add_attachment(attachment[1], maintype="application", subtype="pdf", filename=attachment[0])
    return mail.as_bytes()


def _post(line: Any, raw: bytes, *, secret: str | None = None, content_type: str = "message/rfc822") -> Any:
    return Client().post(f"/hooks/email/{line.pk}?secret={secret or line.webhook_secret}", raw,
                         content_type=content_type)


def test_a_reply_lands_on_the_thread_of_the_email_it_answers(workspace, email_line, sent_email) -> None:
    WebhookEndpoint.objects.create(workspace=workspace, url="https://hooks.example.com/r", events=["message.reply"],
                                   name="replies", secret="s" * 32)
    body = "Tuesday works.\n\nOn Fri, Nov 22, 2024 at 9:00 AM Sales <sales@acme.test> wrote:\n> Are you free Tuesday?"
    response = _post(email_line, _mail(text=body, attachment=("agenda.pdf", b"%PDF-1.4 x")))
    assert response.status_code == 200 and response.json()["result"] == "received"
    reply = Message.objects.get(direction="inbound")
    assert reply.thread_id == sent_email.thread_id and reply.reply_to_id == sent_email.pk
    assert reply.body == "Tuesday works."  # the quoted history is not part of the reply
    assert reply.message_type == "email" and reply.recipient_email == "jane@example.com"
    assert reply.line_id == email_line.pk and reply.attachment_names == ["agenda.pdf"]
    assert reply.external_message_id == "<reply-1@example.com>"
    assert reply.created_at.year >= 2026  # stored when received; the Date header is the sender's claim
    assert WebhookEvent.objects.filter(event_type="message.reply", message_id=reply.pk).count() == 1
    # The provider retries: the same Message-ID is stored once.
    assert _post(email_line, _mail(text=body)).json()["result"] == "duplicate"
    assert Message.objects.filter(direction="inbound").count() == 1


def test_a_reply_from_another_address_of_theirs_still_joins_by_in_reply_to(email_line, sent_email) -> None:
    _post(email_line, _mail(sender="jane.doe@work.example", text="From my work address"))
    reply = Message.objects.get(direction="inbound")
    assert reply.thread_id == sent_email.thread_id and reply.reply_to_id == sent_email.pk
    assert reply.recipient_email == "jane.doe@work.example"


def test_without_headers_the_sender_address_finds_the_thread(email_line, sent_email) -> None:
    _post(email_line, _mail(in_reply_to="", message_id="", text="New question"))
    reply = Message.objects.get(direction="inbound")
    assert reply.thread_id == sent_email.thread_id and reply.reply_to_id == sent_email.pk
    assert reply.external_message_id.startswith("sha256:")


def test_stop_above_the_quote_opts_out(workspace, email_line, sent_email) -> None:
    _post(email_line, _mail(text="STOP\n\n-----Original Message-----\nFrom: Sales\nAre you free Tuesday?"))
    assert DncEntry.objects.filter(workspace=workspace, address="jane@example.com").exists()


def test_html_only_and_form_posted_raw_messages(email_line, sent_email) -> None:
    raw = _mail(text="plain part", html="<p>Sounds <b>good</b></p><div>see you</div>")
    mail = parse_inbound_email(raw)
    assert mail.text == "plain part"  # text/plain is preferred when both are there
    html_only = EmailMessage()
    html_only["From"], html_only["Message-ID"] = "jane@example.com", "<h@example.com>"
    html_only.set_content("<p>Sounds <b>good</b></p><div>see you</div>", subtype="html")
    assert parse_inbound_email(html_only.as_bytes()).text == "Sounds good\nsee you"
    # SendGrid's raw Inbound Parse posts the message in the `email` form field.
    response = Client().post(f"/hooks/email/{email_line.pk}?secret={email_line.webhook_secret}",
                             {"email": raw.decode(), "to": "sales@acme.test"})
    assert response.json()["result"] == "received"


@pytest.mark.parametrize("body,expected", [
    ("Yes please\n\nOn Mon, 1 Jan 2024, Sales <s@a.test> wrote:\n> hi", "Yes please"),
    ("Sure\n> quoted\nmore", "Sure"),
    ("Ok\n\n________________________________\nFrom: Sales\nSent: Monday", "Ok"),
    ("Two lines\nof text", "Two lines\nof text"),
])
def test_reply_text_keeps_only_the_new_part(body: str, expected: str) -> None:
    assert reply_text(body) == expected


def test_refusals_change_nothing(workspace, email_line, sent_email) -> None:
    assert _post(email_line, _mail(), secret="wrong").status_code == 404
    phone_line = LineFactory(workspace=workspace)
    assert _post(phone_line, _mail()).status_code == 404  # only email lines take email
    bad = _post(email_line, b"this is not an email at all")
    assert bad.status_code == 400 and bad.json()["code"] == "INVALID_EMAIL_MESSAGE"
    with override_settings(TUCO_INBOUND_EMAIL_MAX_BYTES=1000):
        big = _post(email_line, _mail(attachment=("big.pdf", b"x" * 5000)))
    assert big.status_code == 413 and big.json()["code"] == "PAYLOAD_TOO_LARGE"
    assert big.json()["error"] == "Request body too large: the limit is 1000 bytes"  # this route's own limit
    assert not Message.objects.filter(direction="inbound").exists()


def test_a_raw_email_over_the_api_limit_is_accepted(settings, email_line, sent_email) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000  # the API's limit does not apply to raw emails
    response = _post(email_line, _mail(attachment=("deck.pdf", b"y" * 10_000)))
    assert response.status_code == 200 and response.json()["result"] == "received"


def test_add_line_prints_the_inbound_email_url(workspace) -> None:
    out = StringIO()
    call_command("add_line", "--workspace", workspace.pk, "--channel", "email", "--email", "team@acme.test",
                 "--smtp-host", "smtp.acme.test", "--json", stdout=out)
    result = json.loads(out.getvalue().strip().splitlines()[-1])
    assert "/hooks/email/" + result["id"] + "?secret=" in result["inboundEmailUrl"]


def test_a_unibox_reply_to_an_email_keeps_the_subject(api, email_line, sent_email) -> None:
    _post(email_line, _mail(text="Tuesday works."))
    inbound = Message.objects.get(direction="inbound")
    assert inbound.subject == "Re: Quick question"
    response = api.post("/api/unibox/send-reply", {"messageId": inbound.pk, "message": "Great, 10am?"},
                        format="json")
    assert response.status_code == 201, response.content
    reply = Message.objects.get(pk=response.json()["message"]["_id"])
    assert reply.message_type == "email" and reply.thread_id == sent_email.thread_id
    assert reply.subject == "Re: Quick question"  # not "Re: Re: …"
    own = api.post("/api/unibox/send-reply", {"threadId": sent_email.thread_id, "message": "Also Wednesday?",
                                              "subject": "Another day"}, format="json")
    assert Message.objects.get(pk=own.json()["message"]["_id"]).subject == "Another day"


def test_an_email_reply_names_the_email_it_answers(api, email_line, sent_email) -> None:
    """The whole round trip against a local SMTP server: their reply comes in, ours goes out threaded."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message as MessageHandler

    from messaging.send.dispatcher import send_message
    from tests.e2e.harness import free_port

    received: list[Any] = []

    class Collect(MessageHandler):
        def handle_message(self, message: Any) -> None:
            received.append(message)

    _post(email_line, _mail(text="Tuesday works.", message_id="<their-reply-7@example.com>"))
    inbound = Message.objects.get(direction="inbound")
    port = free_port()
    type(email_line).objects.filter(pk=email_line.pk).update(smtp_port=port)
    controller = Controller(Collect(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        created = api.post("/api/unibox/send-reply", {"messageId": inbound.pk, "message": "Great, 10am?"},
                           format="json")
        assert created.status_code == 201, created.content
        assert send_message(created.json()["message"]["_id"]) == "sent"
    finally:
        controller.stop()
    [mail] = received
    assert mail["In-Reply-To"] == "<their-reply-7@example.com>" and mail["References"] == mail["In-Reply-To"]
    assert mail["Subject"] == "Re: Quick question" and mail["To"] == "jane@example.com"


def _raw(headers: str, body: bytes) -> bytes:
    return headers.replace("\n", "\r\n").encode() + b"\r\n\r\n" + body


def test_ordinary_malformed_mail_is_stored_or_refused_never_a_500(workspace, email_line, sent_email) -> None:
    bogus = _raw("From: jane@example.com\nMessage-ID: <bogus@example.com>\nContent-Type: text/plain; charset=x-bogus",
                 b"Caf\xe9 at 10?")
    assert _post(email_line, bogus).json()["result"] == "received"
    nul = _raw("From: jane@example.com\nMessage-ID: <nul@example.com>\nSubject: a\x00b", b"see\x00you")
    assert _post(email_line, nul).json()["result"] == "received"
    stored = Message.objects.get(external_message_id="<nul@example.com>")
    assert stored.body == "seeyou" and "\x00" not in stored.subject
    long_from = _raw(f"From: {'j' * 250}@example.com\nMessage-ID: <long@example.com>", b"hi")
    refused = _post(email_line, long_from)
    assert refused.status_code == 400 and refused.json()["code"] == "INVALID_EMAIL_MESSAGE"
    future = _raw("From: jane@example.com\nMessage-ID: <future@example.com>\nDate: Fri, 1 Jan 2100 00:00:00 +0000",
                  b"from the future")
    assert _post(email_line, future).json()["result"] == "received"
    assert Message.objects.get(external_message_id="<future@example.com>").thread.last_message_at.year < 2100


def test_stop_from_an_address_the_normalizer_refuses_still_opts_out(workspace, email_line) -> None:
    raw = _raw("From: taro.@docomo.ne.jp\nMessage-ID: <stop-jp@example.com>", b"STOP")
    assert _post(email_line, raw).json()["result"] == "received"
    assert DncEntry.objects.filter(workspace=workspace, address="taro.@docomo.ne.jp").exists()
    assert _post(email_line, raw).json()["result"] == "duplicate"  # a retry changes nothing


def test_html_stop_with_a_style_block_opts_out(workspace, email_line, sent_email) -> None:
    html_only = EmailMessage()
    html_only["From"], html_only["Message-ID"] = "jane@example.com", "<styled@example.com>"
    html_only.set_content("<html><head><style>p{color:red}</style></head><body><p>STOP</p></body></html>",
                          subtype="html")
    _post(email_line, html_only.as_bytes())
    assert Message.objects.get(direction="inbound").body == "STOP"
    assert DncEntry.objects.filter(workspace=workspace, address="jane@example.com").exists()


def test_form_posted_messages_over_the_api_limit_are_accepted(email_line, sent_email) -> None:
    """SendGrid posts multipart/form-data, Mailgun's MIME route urlencoded: neither is held to 1 MB."""
    big = _mail(attachment=("deck.pdf", b"z" * 1_200_000), message_id="<big-form@example.com>")
    url = f"/hooks/email/{email_line.pk}?secret={email_line.webhook_secret}"
    multipart = Client().post(url, {"email": big.decode(), "to": "sales@acme.test"})
    assert multipart.status_code == 200 and multipart.json()["result"] == "received", multipart.content
    from urllib.parse import urlencode

    big2 = _mail(attachment=("deck.pdf", b"w" * 1_200_000), message_id="<big-urlencoded@example.com>")
    encoded = Client().post(url, urlencode({"body-mime": big2.decode()}),
                            content_type="application/x-www-form-urlencoded")
    assert encoded.status_code == 200 and encoded.json()["result"] == "received", encoded.content
    assert Message.objects.filter(direction="inbound").count() == 2
