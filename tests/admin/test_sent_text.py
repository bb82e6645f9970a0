"""The Unibox bubble shows the text the recipient got (`Hi Ada`), not the template (`Hi {{firstName}}`); the
template stays visible in the bubble's details and on the message page."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils.html import escape

from leads.models import Lead
from messaging.models import Message, Status
from messaging.send import state
from tests.admin.conftest import logged_in, send, set_status

pytestmark = pytest.mark.django_db

TEMPLATE = "Hi {{firstName}}, see you soon"


def bubble(html: str, message_id: str) -> str:
    match = re.search(rf'<div class="msg [^"]*"\s+id="m-{message_id}".*?(?=<div class="msg |</div>\s*</div>\s*$|'
                      rf'<form|<p class="notice)', html, re.S)
    assert match, f"bubble {message_id} not found"
    return match.group(0)


def bubble_text(html: str, message_id: str) -> str:
    found = re.search(r'<div class="bubble" data-text>(.*?)</div>', bubble(html, message_id), re.S)
    assert found
    return found.group(1)


def test_bubble_shows_the_text_sent_even_after_the_lead_changed(bob, world_a) -> None:
    lead = world_a.lead  # Jane Doe
    message = set_status(send(world_a.workspace, leadId=lead.pk, message=TEMPLATE), Status.SENDING)
    state.record_rendered_body(message, "Hi Jane, see you soon")  # as the channel does when it renders
    set_status(message, Status.SENT)
    Lead.objects.filter(pk=lead.pk).update(first_name="Janet")  # renamed after the send

    html = logged_in(bob).get(reverse("admin:unibox_thread", args=[world_a.thread.pk])).content.decode()

    assert bubble_text(html, message.pk) == "Hi Jane, see you soon"  # not "Hi Janet" (rendered now)
    details = bubble(html, message.pk)
    assert "data-template" in details and escape(TEMPLATE) in details
    assert "not sent yet" not in details


def test_unsent_and_older_messages_are_rendered_from_the_lead(bob, world_a) -> None:
    waiting = send(world_a.workspace, leadId=world_a.lead.pk, message=TEMPLATE)  # pending: no channel rendered it
    plain = send(world_a.workspace, leadId=world_a.lead.pk, message="No placeholders here")

    html = logged_in(bob).get(reverse("admin:unibox_thread", args=[world_a.thread.pk])).content.decode()

    assert bubble_text(html, waiting.pk) == "Hi Jane, see you soon"
    assert "not sent yet, shown as it renders now" in bubble(html, waiting.pk)
    assert bubble_text(html, plain.pk) == "No placeholders here"
    assert "data-template" not in bubble(html, plain.pk)  # nothing to show when the text is the template
    inbound = bubble_text(html, world_a.inbound.pk)
    assert inbound == escape(Message.objects.get(pk=world_a.inbound.pk).body)


def test_message_page_shows_the_text_sent_and_the_template(bob, world_a) -> None:
    message = set_status(send(world_a.workspace, leadId=world_a.lead.pk, message=TEMPLATE), Status.SENDING)
    state.record_rendered_body(message, "Hi Jane, see you soon")

    html = logged_in(bob).get(reverse("admin:messaging_message_change", args=[message.pk])).content.decode()

    assert re.search(r"text sent.*?Hi Jane, see you soon", html, re.S | re.I)
    assert re.search(r"template \(as submitted\).*?" + re.escape(escape(TEMPLATE)), html, re.S | re.I)
