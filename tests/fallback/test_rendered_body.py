"""Every channel records the text it actually sends (personalized at that moment) through the state module:
iMessage, SMS, email and the fallback SMS. The template stays in `body`."""

from __future__ import annotations

from typing import Any

import pytest
import responses
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message as MessageHandler

from messaging.models import Message
from messaging.send.channels.sms import sms_send
from messaging.send.dispatcher import send_message
from messaging.send.fallback import fallback_sms_send
from tests.e2e.harness import free_port
from tests.factories import DeviceFactory, LeadFactory, LineFactory, MessageFactory
from tests.fallback.factories import TWILIO_MESSAGES_URL, twilio_message
from tests.messaging.relay_mocks import RELAY, send_ok

pytestmark = pytest.mark.django_db

TEMPLATE = "Hi {{firstName}}, about {{companyName|your team}}"


def _create(api: Any, **body: Any) -> Message:
    response = api.post("/api/messages", {"message": TEMPLATE, **body}, format="json")
    assert response.status_code == 201, response.content
    return Message.objects.get(pk=response.json()["message"]["_id"])


@responses.activate
def test_imessage_records_the_text_it_sent(api, workspace) -> None:
    device = DeviceFactory(workspace=workspace, relay_url=RELAY, relay_password="pw")
    LineFactory(workspace=workspace, device=device, phone="+14155550100")
    lead = LeadFactory(workspace=workspace, first_name="Ada", company_name="", phone="+12025551234")
    message = _create(api, leadId=lead.pk)
    assert message.rendered_body == ""  # nothing was sent yet
    send_ok("GUID-R", text="Hi Ada, about your team")
    assert send_message(message.pk) == "sent"
    message.refresh_from_db()
    assert message.rendered_body == "Hi Ada, about your team" and message.body == TEMPLATE


@responses.activate
def test_sms_records_the_personalized_text_without_the_attachment_links(twilio_config, workspace) -> None:
    lead = LeadFactory(workspace=workspace, first_name="Ada", company_name="Acme", phone="+12025550100")
    message = MessageFactory(workspace=workspace, lead=lead, message_type="sms", status="sending", body=TEMPLATE,
                             attachment_urls=["https://cdn.example.com/a.png"])
    responses.post(TWILIO_MESSAGES_URL, json=twilio_message(sid="SMr1"), status=201)
    assert sms_send(message_id=message.pk).sent
    message.refresh_from_db()
    assert message.rendered_body == "Hi Ada, about Acme"


@responses.activate
def test_the_fallback_sms_records_the_text_it_sent(twilio_config, workspace) -> None:
    lead = LeadFactory(workspace=workspace, first_name="Grace", phone="+12025550100")
    message = MessageFactory(workspace=workspace, lead=lead, status="fallback", body=TEMPLATE)
    responses.post(TWILIO_MESSAGES_URL, json=twilio_message(sid="SMr2"), status=201)
    assert fallback_sms_send(message_id=message.pk, reason="no_imessage").sent
    message.refresh_from_db()
    assert message.rendered_body == "Hi Grace, about your team"


def test_email_records_the_text_it_sent(api, workspace) -> None:
    received: list[Any] = []

    class Collect(MessageHandler):
        def handle_message(self, message: Any) -> None:
            received.append(message)

    port = free_port()
    controller = Controller(Collect(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        LineFactory(workspace=workspace, device=None, channel_type="email", email="sales@tuco.test", phone="",
                    smtp_host="127.0.0.1", smtp_port=port)
        message = _create(api, messageType="email", recipientEmail="buyer@example.com", recipientName="Ada Byron")
        assert send_message(message.pk) == "sent"
    finally:
        controller.stop()
    message.refresh_from_db()
    assert message.rendered_body == "Hi Ada, about your team"
    assert "Hi Ada, about your team" in received[0].get_payload(decode=True).decode()
