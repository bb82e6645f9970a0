"""Operator admin: health columns, the outbox list and replay action, the read-only delivery log."""

from __future__ import annotations

import pytest
from django.test import override_settings

from tests.webhooks.conftest import events_of, make_endpoint, mark_sent, sending_message
from webhooks.delivery import deliver_event
from webhooks.models import WebhookEndpoint, WebhookEvent

pytestmark = pytest.mark.django_db


def test_endpoint_list_shows_health(admin_client, workspace, receiver) -> None:
    healthy = make_endpoint(workspace, receiver.url)
    healthy.name = "healthy hook"
    healthy.save()
    make_endpoint(workspace, receiver.url, failure_count=4)
    make_endpoint(workspace, receiver.url, is_active=False, paused_by="failures", paused_reason="Paused after 20")
    page = admin_client.get("/admin/webhooks/webhookendpoint/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "healthy hook" in html and "failing ×4" in html and "paused (failures)" in html
    assert "whsec_" not in html


def test_event_list_filters_and_detail_with_attempts(admin_client, workspace, endpoint, receiver) -> None:
    receiver.respond_with(500)
    (event,) = events_of(mark_sent(sending_message(workspace)))
    deliver_event(event.pk)
    assert admin_client.get("/admin/webhooks/webhookevent/?status__exact=failed").status_code == 200
    assert admin_client.get("/admin/webhooks/webhookevent/?last_try=error").status_code == 200
    detail = admin_client.get(f"/admin/webhooks/webhookevent/{event.pk}/change/")
    assert detail.status_code == 200
    html = detail.content.decode()
    assert "HTTP 500" in html and event.event_id in html


def test_replay_action_uses_the_service_and_reports_changes(admin_client, workspace, endpoint, receiver,
                                                            enqueued, django_capture_on_commit_callbacks) -> None:
    (delivered,) = events_of(mark_sent(sending_message(workspace)))
    deliver_event(delivered.pk)
    (pending,) = events_of(mark_sent(sending_message(workspace)))
    enqueued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/admin/webhooks/webhookevent/", {
            "action": "replay_events", "_selected_action": [delivered.pk, pending.pk]}, follow=True)
    assert response.status_code == 200
    assert "1 event(s) queued for replay. 1 skipped" in response.content.decode()
    assert WebhookEvent.objects.get(pk=delivered.pk).status == "pending"
    assert enqueued == [(delivered.pk, None)]


def test_resume_action(admin_client, workspace, receiver) -> None:
    paused = make_endpoint(workspace, receiver.url, is_active=False, paused_by="failures", failure_count=20)
    response = admin_client.post("/admin/webhooks/webhookendpoint/", {
        "action": "resume_endpoints", "_selected_action": [paused.pk]}, follow=True)
    assert "1 endpoint(s) resumed." in response.content.decode()
    paused.refresh_from_db()
    assert paused.is_active and paused.failure_count == 0


@override_settings(TUCO_ALLOW_PRIVATE_URLS=False)
def test_admin_form_refuses_private_urls(admin_client, workspace) -> None:
    response = admin_client.post("/admin/webhooks/webhookendpoint/add/", {
        "workspace": workspace.pk, "name": "x", "description": "", "url": "https://127.0.0.1/x",
        "events": ["message.sent"]})
    assert response.status_code == 200
    assert "private, loopback or link-local" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_admin_adds_through_the_service_and_shows_the_secret_once(admin_client, workspace) -> None:
    response = admin_client.post("/admin/webhooks/webhookendpoint/add/", {
        "workspace": workspace.pk, "name": "ops hook", "description": "", "url": "https://example.com/x",
        "events": ["message.sent", "message.reply"]}, follow=True)
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret.startswith("whsec_") and endpoint.events == ["message.sent", "message.reply"]
    assert endpoint.secret in response.content.decode()  # once, in the confirmation message
    page = admin_client.get(f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/").content.decode()
    assert endpoint.secret not in page and "set (hidden)" in page


def test_admin_edits_go_through_the_service(admin_client, workspace, receiver) -> None:
    endpoint = make_endpoint(workspace, receiver.url, failure_count=3)
    response = admin_client.post(f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/", {
        "name": "renamed", "description": "", "url": "https://example.com/new", "events": ["message.failed"]})
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.name, endpoint.url, endpoint.events) == ("renamed", "https://example.com/new",
                                                              ["message.failed"])
    assert endpoint.failure_count == 3  # worker-written columns are not clobbered


def test_staff_see_only_their_workspaces_webhooks(client, workspace, receiver) -> None:
    from django.contrib.auth.models import Permission, User

    from tests.factories import WorkspaceFactory
    from tuco.models import WorkspaceMember

    mine = make_endpoint(workspace, receiver.url)
    mine.name = "mine"
    mine.save()
    theirs = make_endpoint(WorkspaceFactory(), receiver.url)
    theirs.name = "theirs"
    theirs.save()
    staff = User.objects.create_user("ops", password="pw", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename__in=["view_webhookendpoint",
                                                                        "view_webhookevent"]))
    WorkspaceMember.objects.create(workspace=workspace, user=staff)
    client.force_login(staff)
    html = client.get("/admin/webhooks/webhookendpoint/").content.decode()
    assert "mine" in html and "theirs" not in html
    assert client.get(f"/admin/webhooks/webhookendpoint/{theirs.pk}/change/").status_code == 302  # not found


def test_replay_needs_the_change_permission(client, workspace, endpoint, receiver) -> None:
    from django.contrib.auth.models import Permission, User

    from tuco.models import WorkspaceMember

    (event,) = events_of(mark_sent(sending_message(workspace)))
    deliver_event(event.pk)
    staff = User.objects.create_user("viewer", password="pw", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_webhookevent"))
    WorkspaceMember.objects.create(workspace=workspace, user=staff)
    client.force_login(staff)
    page = client.get("/admin/webhooks/webhookevent/").content.decode()
    assert "replay_events" not in page
    staff.user_permissions.add(Permission.objects.get(codename="change_webhookevent"))
    staff = User.objects.get(pk=staff.pk)
    client.force_login(staff)
    response = client.post("/admin/webhooks/webhookevent/", {"action": "replay_events",
                                                          "_selected_action": [event.pk]}, follow=True)
    assert "1 event(s) queued for replay." in response.content.decode()
