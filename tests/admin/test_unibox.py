"""The Unibox: thread list (order, unread, filters, search, pages), thread page (bubbles, statuses), reply box."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from lines.models import Line
from messaging.explain import explanation_display, explanation_for
from messaging.models import Message, MessageEvent, Status, Thread
from messaging.unibox.views import THREADS_PER_PAGE
from tests.admin.conftest import logged_in, make_staff, receive, send, set_status
from tests.factories import LineFactory
from tuco.models import Workspace

pytestmark = pytest.mark.django_db

THREADS = reverse("admin:unibox_threads")


def thread_url(thread) -> str:
    return reverse("admin:unibox_thread", args=[thread.pk])


def thread_ids(html: str) -> list[str]:
    return re.findall(r'data-thread-id="([0-9a-f]{24})"', html)


def bubble(html: str, message_id: str) -> str:
    """The HTML of one message bubble (from its opening tag to the next bubble or the reply box)."""
    start = html.rindex('<div class="msg ', 0, html.index(f'id="m-{message_id}"'))
    ends = [i for i in (html.find('<div class="msg ', start + 1), html.find("<form", start)) if i != -1]
    return html[start:min(ends) if ends else len(html)]


# --- thread list ---------------------------------------------------------------------------------


def test_threads_are_listed_by_latest_activity_with_unread_counts(bob, world_a) -> None:
    older = Thread.objects.get(pk=send(world_a.workspace, recipientPhone="+12025550161", message="old").thread_id)
    Thread.objects.filter(pk=older.pk).update(last_message_at=timezone.now() - timedelta(days=2))
    newest = Thread.objects.get(pk=send(world_a.workspace, recipientPhone="+12025550162", message="new").thread_id)
    receive(world_a.thread, "and another")

    html = logged_in(bob).get(THREADS).content.decode()

    ids = thread_ids(html)
    assert ids.index(world_a.thread.pk) < ids.index(older.pk)
    assert ids.index(newest.pk) < ids.index(older.pk)
    row = html[html.index(f'data-thread-id="{world_a.thread.pk}"'):]
    row = row[:row.index("</tr>")]
    assert 'class="unread-count"' in row and ">2<" in row  # two inbound replies not read yet
    assert "Jane Doe" in row and "and another" in row


def test_thread_list_filters_and_search(bob, world_a) -> None:
    other_line = LineFactory(workspace=world_a.workspace)
    pinned = send(world_a.workspace, recipientPhone="+12025550163", message="via other", fromLineId=other_line.pk)
    failed = set_status(send(world_a.workspace, recipientPhone="+12025550164", message="x",
                             fromLineId=world_a.line.pk), Status.SENDING, Status.FAILED, error="boom")
    client = logged_in(bob)

    def ids(**params) -> set[str]:
        response = client.get(THREADS, params)
        assert response.status_code == 200
        return set(thread_ids(response.content.decode()))

    assert ids(line=other_line.pk) == {pinned.thread_id}
    assert ids(status="failed") == {failed.thread_id}
    assert ids(unread="on") == {world_a.thread.pk}
    assert ids(q="jane") == {world_a.thread.pk}
    assert ids(q="Jane Doe") == {world_a.thread.pk}
    assert ids(q="jane@acme.example") == {world_a.thread.pk}
    assert ids(q="(202) 555-0163") == {pinned.thread_id}
    assert ids(q="nobody-matches") == set()


def test_thread_list_is_paginated(alice, world_a) -> None:
    for n in range(THREADS_PER_PAGE + 5):
        Thread.objects.create(workspace=world_a.workspace, address=f"+1202555{2000 + n}",
                              last_message_at=timezone.now() - timedelta(minutes=n + 1))
    client = logged_in(alice)
    first = client.get(THREADS).content.decode()
    second = client.get(THREADS, {"page": 2}).content.decode()
    assert len(thread_ids(first)) == THREADS_PER_PAGE
    assert len(thread_ids(second)) == 6  # 55 made here + the fixture's thread
    assert not set(thread_ids(first)) & set(thread_ids(second))
    assert "Older &rarr;" in first and "page=2" in first


# --- thread page ---------------------------------------------------------------------------------


def test_thread_page_shows_bubbles_statuses_and_failures(bob, world_a) -> None:
    ws, phone = world_a.workspace, world_a.lead.phone
    delivered = set_status(send(ws, recipientPhone=phone, message="delivered one"),
                           Status.SENDING, Status.SENT, Status.DELIVERED)
    failed = set_status(send(ws, recipientPhone=phone, message="failed one"), Status.SENDING, Status.FAILED,
                        error="Relay refused the message", error_code="RELAY_REJECTED")
    queued = set_status(send(ws, recipientPhone=phone, message="queued one"), Status.QUEUED,
                        queued_reason="contact_gap", next_attempt_at=timezone.now() + timedelta(minutes=3))
    scheduled = send(ws, recipientPhone=phone, message="later one",
                     scheduledDate=(timezone.now() + timedelta(days=1)).isoformat())
    cancelled = set_status(send(ws, recipientPhone=phone, message="cancelled one"), Status.CANCELLED)
    with_files = send(ws, recipientPhone=phone, message="files",
                      attachmentUrls=["https://cdn.example.com/a/photo.png", "https://cdn.example.com/a/deck.pdf"])

    with time_machine.travel(timezone.now(), tick=False):  # the sentences say "in 3 min": hold the clock
        html = logged_in(bob).get(thread_url(world_a.thread)).content.decode()
        shown = {m.pk: escape(explanation_display(Message.objects.get(pk=m.pk)))
                 for m in (queued, scheduled, cancelled)}

    assert 'class="msg in' in bubble(html, world_a.inbound.pk)
    assert 'class="msg out' in bubble(html, delivered.pk)
    assert "✓✓ Delivered" in bubble(html, delivered.pk)
    assert "◷ Pending" in bubble(html, world_a.outbound.pk)
    failed_html = bubble(html, failed.pk)
    assert "⚠ Failed" in failed_html and "Relay refused the message (RELAY_REJECTED)" in failed_html
    for waiting in (queued, scheduled, cancelled):
        # Queued, scheduled and cancelled get no status icon/label, but say why.
        assert "data-status-label" not in bubble(html, waiting.pk)
    for waiting in (queued, scheduled, cancelled):
        assert shown[waiting.pk] in bubble(html, waiting.pk)
    assert shown[queued.pk] and shown[cancelled.pk]  # non-empty sentences
    # Relative and local time, not the API's ISO instant.
    queued.refresh_from_db()
    assert re.search(r"turn is in (2 min 5\d s|3 min), \d\d:\d\d:\d\d UTC\.", bubble(html, queued.pk))
    assert escape(explanation_for(queued)) not in bubble(html, queued.pk)
    files = bubble(html, with_files.pk)
    assert '<img src="https://cdn.example.com/a/photo.png"' in files
    assert 'href="https://cdn.example.com/a/deck.pdf"' in files and "deck.pdf" in files
    # Oldest first: the chat reads top to bottom.
    assert html.index(f'id="m-{world_a.outbound.pk}"') < html.index(f'id="m-{with_files.pk}"')


def test_opening_a_thread_marks_it_read(bob, world_a) -> None:
    assert world_a.thread.unread_count == 1
    assert logged_in(bob).get(thread_url(world_a.thread)).status_code == 200
    assert Thread.objects.get(pk=world_a.thread.pk).unread_count == 0
    assert Message.objects.get(pk=world_a.inbound.pk).is_read is True


# --- reply box -----------------------------------------------------------------------------------


def test_reply_is_sent_through_message_create_from_the_thread_line(bob, world_a) -> None:
    LineFactory(workspace=world_a.workspace)  # another active line: the reply must still use the thread's
    response = logged_in(bob).post(thread_url(world_a.thread), {"message": "Thanks, talk soon",
                                                                "message_type": "imessage"})
    assert response.status_code == 302
    reply = Message.objects.get(body="Thanks, talk soon")
    assert response["Location"].endswith(f"#m-{reply.pk}")
    assert (reply.thread_id, reply.line_id, reply.line_pinned) == (world_a.thread.pk, world_a.thread.line_id, True)
    assert (reply.send_to_address, reply.lead_id, reply.status) == (world_a.thread.address, world_a.lead.pk,
                                                                     Status.PENDING)
    assert reply.correlation_id  # the request's correlation id, like an API send
    assert MessageEvent.objects.filter(message=reply, reason="created").exists()
    html = logged_in(bob).get(thread_url(world_a.thread)).content.decode()
    assert "Thanks, talk soon" in bubble(html, reply.pk) and "◷ Pending" in bubble(html, reply.pk)


def test_reply_box_offers_the_thread_channels_its_own_first(bob, world_a) -> None:
    client = logged_in(bob)

    def offered(thread: Thread) -> list[str]:
        html = client.get(thread_url(thread)).content.decode()
        select = html[html.index('name="message_type"'):]
        select = select[:select.index("</select>")]
        options = re.findall(r'<option value="(\w+)"', select)
        assert re.search(rf'<option value="{options[0]}"[^>]*selected', select), select
        return options

    lineless_phone = Thread.objects.create(workspace=world_a.workspace, address="+12025550165")
    apple_id = Thread.objects.create(workspace=world_a.workspace, address="buyer@example.com", line=world_a.line)
    lineless_email = Thread.objects.create(workspace=world_a.workspace, address="ops@example.com")
    assert offered(world_a.thread) == ["imessage", "sms"]
    assert offered(lineless_phone) == ["sms", "imessage"]  # an SMS conversation (SMS holds no line)
    assert offered(apple_id) == ["imessage", "email"]  # an iMessage conversation with an Apple ID
    assert offered(lineless_email) == ["email", "imessage"]
    response = client.post(thread_url(lineless_phone), {"message": "by text", "message_type": "sms"})
    assert response.status_code == 302
    sent = Message.objects.get(body="by text")
    assert (sent.thread_id, sent.message_type, sent.line_id) == (lineless_phone.pk, "sms", None)


@pytest.mark.parametrize(("form", "error"), [
    ({"message": "   "}, "Message and attachmentUrls cannot both be empty"),
    ({"message": "x", "attachment_urls": "https://a.example/1.png\nhttps://a.example/2.png\nhttps://a.example/3.png"},
     "Maximum 2 attachments per message"),
    ({"message": "x", "attachment_urls": "ftp://files.example/x"}, "attachmentUrls must contain http(s) URLs"),
])
def test_reply_validation_errors_are_shown_inline(bob, world_a, form, error) -> None:
    before = Message.objects.count()
    response = logged_in(bob).post(thread_url(world_a.thread), {"message_type": "imessage", **form})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="reply-errors"' in html and error in html
    assert Message.objects.count() == before


def test_reply_uses_another_line_when_the_thread_line_is_inactive(bob, world_a) -> None:
    Line.objects.filter(pk=world_a.line.pk).update(is_active=False)
    spare = LineFactory(workspace=world_a.workspace)
    response = logged_in(bob).post(thread_url(world_a.thread),
                                   {"message": "from the spare", "message_type": "imessage"})
    assert response.status_code == 302
    assert Message.objects.get(body="from the spare").line_id == spare.pk


def test_reply_without_any_active_line_shows_the_api_error(bob, world_a) -> None:
    for line in Line.objects.filter(workspace=world_a.workspace):
        line.is_active = False
        line.save()  # as the admin does
    response = logged_in(bob).post(thread_url(world_a.thread), {"message": "nobody sends", "message_type": "imessage"})
    assert response.status_code == 400
    assert "No active lines in workspace..." in response.content.decode()


def test_duplicate_reply_is_not_sent_twice(bob, world_a) -> None:
    client = logged_in(bob)
    client.post(thread_url(world_a.thread), {"message": "same text", "message_type": "imessage"})
    response = client.post(thread_url(world_a.thread), {"message": "same text", "message_type": "imessage"},
                           follow=True)
    assert Message.objects.filter(body="same text").count() == 1
    assert "already sent to this contact" in response.content.decode()


def test_read_only_workspace_cannot_reply(bob, world_a) -> None:
    Workspace.objects.filter(pk=world_a.workspace.pk).update(billing_status="past_due")
    client = logged_in(bob)
    assert 'id="reply-form"' not in client.get(thread_url(world_a.thread)).content.decode()
    response = client.post(thread_url(world_a.thread), {"message": "blocked", "message_type": "imessage"})
    assert response.status_code == 400
    assert not Message.objects.filter(body="blocked").exists()


def test_reply_needs_the_add_message_permission(world_a) -> None:
    viewer = make_staff("viewer", workspaces=[world_a.workspace], perms=False)
    viewer.user_permissions.set(Permission.objects.filter(codename__in=["view_thread", "view_message"]))
    client = logged_in(viewer)
    page = client.get(thread_url(world_a.thread)).content.decode()
    assert world_a.outbound.body in page and 'id="reply-form"' not in page
    response = client.post(thread_url(world_a.thread), {"message": "hi", "message_type": "imessage"})
    assert response.status_code == 403


def test_a_unibox_reply_names_the_operator_who_sent_it(bob, world_a) -> None:
    """createdByUserId: the operator for Unibox sends, null for API keys (spec's message object)."""
    from messaging.documents import message_document

    logged_in(bob).post(thread_url(world_a.thread), {"message": "Signed, Bob", "message_type": "imessage"})
    reply = Message.objects.get(body="Signed, Bob")
    assert reply.created_by_id == bob.pk
    assert message_document(reply)["createdByUserId"] == bob.pk
