"""The Unibox in a real browser: log in, open the thread list, open a thread, reply, see the reply's status.

Playwright (sync API) drives Debian's chromium against pytest-django's live server.
Screenshots go to test-artifacts/; the thread page after the reply is also copied
to docs/unibox-thread.png for the docs.
"""

from __future__ import annotations

import os
import shutil
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from messaging.models import Message, Status, Thread
from tests.admin.conftest import receive, send, set_status
from tests.browser.support import PASSWORD, ROOT, shot_of
from tests.factories import DeviceFactory, LeadFactory, LineFactory, WorkspaceFactory
from tuco.models import WorkspaceMember

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def conversation() -> dict[str, Any]:
    """An operator (staff member of one workspace) and a conversation in several states."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group, Permission

    workspace = WorkspaceFactory(name="Sunrise Tours")
    line = LineFactory(workspace=workspace, device=DeviceFactory(workspace=workspace), phone="+14155550123",
                       first_name="Sam", last_name="Rivera")
    lead = LeadFactory(workspace=workspace, first_name="Jane", last_name="Doe", phone="+12025550111",
                       company_name="Acme Travel")
    phone = lead.phone
    first = set_status(send(workspace, recipientPhone=phone, leadId=lead.pk,
                            message="Hi Jane, this is Sam from Sunrise Tours. Want me to hold two seats on the "
                                    "spring coastal tour?"),
                       Status.SENDING, Status.SENT, Status.DELIVERED)
    thread = Thread.objects.get(pk=first.thread_id)
    receive(thread, "Yes please! Is the Saturday departure still open?")
    set_status(send(workspace, recipientPhone=phone, message="It is. Here is the brochure with the full route.",
                    attachmentUrls=["https://cdn.example.com/tours/spring-coastal-brochure.pdf"]),
               Status.SENDING, Status.SENT)
    set_status(send(workspace, recipientPhone=phone, message="Also sending the hotel list."),
               Status.SENDING, Status.FAILED, error="The relay refused the message: recipient handle not found",
               error_code="RELAY_REJECTED")
    set_status(send(workspace, recipientPhone=phone, message="Shall I book it for you?"), Status.QUEUED,
               queued_reason="contact_gap", next_attempt_at=timezone.now() + timedelta(minutes=2))
    receive(thread, "Which time on Saturday?", attachment_names=["IMG_2041.HEIC"])
    # A second, quieter conversation so the list has more than one row.
    other = send(workspace, recipientPhone="+12025550188", message="Your tickets are confirmed.")
    Thread.objects.filter(pk=other.thread_id).update(last_message_at=timezone.now() - timedelta(hours=3))

    user = get_user_model().objects.create_user(username="operator", password=PASSWORD, is_staff=True)
    group, _ = Group.objects.get_or_create(name="Operators")
    group.permissions.set(Permission.objects.filter(
        content_type__app_label__in=("tuco", "webhooks", "leads", "lines", "messaging", "fallback")))
    user.groups.add(group)
    WorkspaceMember.objects.create(workspace=workspace, user=user)
    return {"thread": Thread.objects.get(pk=thread.pk), "line": line}


def test_operator_reads_and_answers_a_thread(live_server: Any, page: Any, conversation: dict[str, Any]) -> None:
    thread = conversation["thread"]
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")

    # Thread list: reached from the header link, newest activity first, unread count shown.
    page.click("#user-tools a:has-text('Unibox')")
    page.wait_for_selector("table.unibox-threads")
    rows = page.locator("tr.thread")
    assert rows.count() == 2
    assert rows.first.get_attribute("data-thread-id") == thread.pk
    assert rows.first.locator(".unread-count").inner_text() == "2"
    shot_of(page, "unibox-threads.png")

    # Open the thread: bubbles with their statuses; opening marks it read.
    rows.first.locator("a.row-link").first.click()
    page.wait_for_selector("#chat")
    assert page.locator(".msg.in").count() == 2
    assert page.locator(".msg.out").count() == 4
    labels = page.locator(".msg.out [data-status-label]").all_inner_texts()
    assert [t.strip() for t in labels] == ["✓✓ Delivered", "✓ Sent", "⚠ Failed"]
    assert page.locator(".msg.out.queued [data-status-label]").count() == 0
    assert page.locator(".msg.out.queued .explain").inner_text().strip()  # why it waits, and until when
    assert "RELAY_REJECTED" in page.locator(".msg.out.failed .failure").inner_text()
    assert page.locator("a.file:has-text('spring-coastal-brochure.pdf')").count() == 1
    assert Thread.objects.get(pk=thread.pk).unread_count == 0
    shot_of(page, "unibox-thread-before-reply.png")

    # An empty reply is refused inline with the API's own text.
    page.click("#reply-send")
    page.wait_for_selector("#reply-errors")
    assert "Message and attachmentUrls cannot both be empty" in page.locator("#reply-errors").inner_text()

    # Reply from the box: it goes through message_create and shows up with its status.
    text = "Saturday 10:00 departure, two seats held. See you there!"
    page.fill("textarea[name=message]", text)
    page.click("#reply-send")
    page.wait_for_selector(f".msg.out:has-text('{text}')")
    reply = Message.objects.get(body=text)
    assert (reply.thread_id, reply.line_id) == (thread.pk, conversation["line"].pk)
    bubble = page.locator(f"#m-{reply.pk}")
    assert bubble.locator("[data-status-label]").inner_text().strip() == "◷ Pending"
    assert page.locator("#reply-errors").count() == 0
    shot = shot_of(page, "unibox-thread.png")
    docs_copy = ROOT / "docs" / "unibox-thread.png"
    if os.environ.get("TUCO_UPDATE_DOCS_SCREENSHOT") or not docs_copy.exists():  # keep `make test` read-only
        docs_copy.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, docs_copy)
