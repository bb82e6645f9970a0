"""Admin actions go through the state machine's services and report the rows they really changed."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from lines.models import Line
from messaging.models import Message, MessageEvent, Status
from tests.admin.conftest import logged_in, send, set_status
from tuco.models import ApiKey
from tuco.services import api_key_create, api_key_revoke

pytestmark = pytest.mark.django_db

MESSAGES = reverse("admin:messaging_message_changelist")


def run_action(client, url: str, action: str, ids: list[str]) -> list[str]:
    response = client.post(url, {"action": action, "_selected_action": ids}, follow=True)
    assert response.status_code == 200
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_cancel_changes_only_cancellable_messages(bob, world_a) -> None:
    pending = send(world_a.workspace, recipientPhone="+12025550141", message="not yet")
    sent = set_status(send(world_a.workspace, recipientPhone="+12025550142", message="gone"),
                      Status.SENDING, Status.SENT)

    notes = run_action(logged_in(bob), MESSAGES, "cancel_messages", [pending.pk, sent.pk])

    assert "1 message cancelled." in notes
    assert "1 message left as is: already sent, finished or cancelled." in notes
    assert Message.objects.get(pk=pending.pk).status == Status.CANCELLED
    assert Message.objects.get(pk=sent.pk).status == Status.SENT
    event = MessageEvent.objects.filter(message_id=pending.pk, to_status=Status.CANCELLED).get()
    assert event.reason == "cancelled_by_admin"
    assert not MessageEvent.objects.filter(message_id=sent.pk, to_status=Status.CANCELLED).exists()


def test_cancel_counts_plural_and_zero(bob, world_a) -> None:
    a = send(world_a.workspace, recipientPhone="+12025550143", message="a")
    b = send(world_a.workspace, recipientPhone="+12025550144", message="b")
    client = logged_in(bob)
    assert "2 messages cancelled." in run_action(client, MESSAGES, "cancel_messages", [a.pk, b.pk])
    # Cancelling again changes nothing, and says so.
    notes = run_action(client, MESSAGES, "cancel_messages", [a.pk, b.pk])
    assert "0 messages cancelled." in notes
    assert "2 messages left as is: already sent, finished or cancelled." in notes


def test_retry_moves_only_failed_messages(bob, world_a) -> None:
    failed = set_status(send(world_a.workspace, recipientPhone="+12025550145", message="broke"),
                        Status.SENDING, Status.FAILED, error="relay refused", error_code="RELAY_REJECTED")
    delivered = set_status(send(world_a.workspace, recipientPhone="+12025550146", message="fine"),
                           Status.SENDING, Status.SENT, Status.DELIVERED)

    notes = run_action(logged_in(bob), MESSAGES, "retry_failed_messages", [failed.pk, delivered.pk])

    assert "1 message queued for retry." in notes
    assert "1 message left as is: only failed messages can be retried." in notes
    failed.refresh_from_db()
    assert (failed.status, failed.error, failed.attempt_count) == (Status.PENDING, "", 0)
    assert MessageEvent.objects.filter(message_id=failed.pk, reason="retry_by_admin").exists()
    assert Message.objects.get(pk=delivered.pk).status == Status.DELIVERED


def test_message_change_form_never_writes_the_row(alice, world_a) -> None:
    message = world_a.outbound
    url = reverse("admin:messaging_message_change", args=[message.pk])
    page = logged_in(alice).get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="_save"' not in html  # read-only page: no save button
    assert "It is accepted and waiting for a worker to send it." in html  # the explanation sentence
    assert "timeline" in html.lower() and "send attempts" in html.lower()
    # A worker sends it while the operator has the page open; a stray POST must not write it back.
    set_status(message, Status.SENDING, Status.SENT)
    logged_in(alice).post(url, {"_save": "Save"})
    assert Message.objects.get(pk=message.pk).status == Status.SENT


def test_message_add_and_delete_are_not_offered(alice, world_a) -> None:
    client = logged_in(alice)
    assert client.get(reverse("admin:messaging_message_add")).status_code == 403
    assert client.get(reverse("admin:messaging_message_delete", args=[world_a.outbound.pk])).status_code == 403
    html = client.get(MESSAGES).content.decode()
    assert "delete_selected" not in html


def test_queued_message_shows_reason_and_next_attempt(alice, world_a) -> None:
    message = send(world_a.workspace, recipientPhone="+12025550147", message="wait")
    moved = set_status(message, Status.QUEUED, queued_reason="line_daily_total")
    html = logged_in(alice).get(reverse("admin:messaging_message_change", args=[moved.pk])).content.decode()
    assert "line_daily_total" in html
    assert "The line reached its daily message limit (75)" in html


def test_revoke_action_counts_only_active_keys(bob, world_a) -> None:
    active, _ = api_key_create(workspace=world_a.workspace, name="live")
    revoked, _ = api_key_create(workspace=world_a.workspace, name="old")
    api_key_revoke(api_key=revoked)

    notes = run_action(logged_in(bob), reverse("admin:tuco_apikey_changelist"), "revoke_keys",
                       [active.pk, revoked.pk])

    assert "1 API key revoked." in notes
    assert ApiKey.objects.get(pk=active.pk).revoked_at is not None


def test_mark_healthy_action(bob, world_a) -> None:
    Line.objects.filter(pk=world_a.line.pk).update(health_status="unhealthy", health_reason="401 from relay")
    notes = run_action(logged_in(bob), reverse("admin:lines_line_changelist"), "mark_healthy", [world_a.line.pk])
    assert "1 line marked healthy." in notes
    assert Line.objects.get(pk=world_a.line.pk).health_status == "healthy"


def test_message_changelist_filters_and_search(alice, world_a, world_b) -> None:
    sent = set_status(send(world_a.workspace, recipientPhone="+12025550148", message="x"), Status.SENDING, Status.SENT)
    client = logged_in(alice)

    def ids(**params) -> str:
        response = client.get(MESSAGES, params)
        assert response.status_code == 200
        return response.content.decode()

    html = ids(status="sent")
    assert sent.pk in html and world_a.outbound.pk not in html
    html = ids(line=world_b.line.pk)
    assert world_b.outbound.pk in html and world_a.outbound.pk not in html
    html = ids(workspace=world_a.workspace.pk, direction="inbound")
    assert world_a.inbound.pk in html and world_a.outbound.pk not in html
    html = ids(q="+12025550148")
    assert sent.pk in html and world_a.outbound.pk not in html
    html = ids(thread__id__exact=world_b.thread.pk)
    assert world_b.outbound.pk in html and world_a.outbound.pk not in html
