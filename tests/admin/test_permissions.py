"""Who sees what: superusers everything, staff only their workspaces, across changelists, forms and the Unibox."""

from __future__ import annotations

import pytest
from django.urls import reverse

from leads.models import Lead, LeadList
from lines.models import Line
from messaging.models import Message
from tests.admin.conftest import logged_in
from tuco.models import ApiKey
from tuco.services import api_key_create

pytestmark = pytest.mark.django_db

CHANGELISTS = [
    "tuco_workspace", "tuco_apikey", "tuco_workspacemember", "leads_lead", "leads_leadlist", "lines_device",
    "lines_line", "messaging_message", "messaging_thread", "messaging_sendattempt", "messaging_messageevent",
]


def changelist(name: str) -> str:
    return reverse(f"admin:{name}_changelist")


def _markers(world) -> dict[str, str]:
    """One string per changelist that only that workspace's rows would put on the page."""
    key, _ = api_key_create(workspace=world.workspace, name=f"key-of-{world.workspace.name}")
    return {
        "tuco_workspace": world.workspace.pk,
        "tuco_apikey": key.name,
        "tuco_workspacemember": world.workspace.name,
        "leads_lead": world.lead.phone,
        "leads_leadlist": f"Prospects of {world.workspace.name}",
        "lines_device": world.line.device.relay_url,
        "lines_line": world.line.phone,
        "messaging_message": world.outbound.pk,
        "messaging_thread": world.thread.address,
        "messaging_sendattempt": "",
        "messaging_messageevent": world.outbound.pk,
    }


@pytest.mark.parametrize("name", CHANGELISTS)
def test_superuser_sees_every_workspace(alice, bob, carol, world_a, world_b, name) -> None:
    marks_a, marks_b = _markers(world_a), _markers(world_b)
    page = logged_in(alice).get(changelist(name))
    assert page.status_code == 200
    html = page.content.decode()
    if marks_a[name]:
        assert marks_a[name] in html and marks_b[name] in html


@pytest.mark.parametrize("name", CHANGELISTS)
def test_staff_sees_only_member_workspaces(bob, carol, world_a, world_b, name) -> None:
    marks_a, marks_b = _markers(world_a), _markers(world_b)
    html = logged_in(bob).get(changelist(name)).content.decode()
    if marks_a[name]:
        assert marks_a[name] in html, f"{name}: own workspace's row missing"
        assert marks_b[name] not in html, f"{name}: another workspace's row leaked"


def test_workspace_filter_lists_only_member_workspaces(bob, world_a, world_b) -> None:
    html = logged_in(bob).get(changelist("messaging_message")).content.decode()
    assert f"?workspace={world_a.workspace.pk}" in html
    assert world_b.workspace.pk not in html and world_b.workspace.name not in html


def test_non_member_cannot_open_another_workspaces_rows(carol, world_a, world_b) -> None:
    client = logged_in(carol)
    for url in (reverse("admin:messaging_message_change", args=[world_a.outbound.pk]),
                reverse("admin:leads_lead_change", args=[world_a.lead.pk]),
                reverse("admin:lines_line_change", args=[world_a.line.pk]),
                reverse("admin:tuco_workspace_change", args=[world_a.workspace.pk])):
        response = client.get(url)
        # The admin answers "doesn't exist" (redirect to the index), never the row.
        assert response.status_code == 302, url
        assert response["Location"] == reverse("admin:index")
    assert client.get(reverse("admin:messaging_message_change", args=[world_b.outbound.pk])).status_code == 200


def test_unibox_is_scoped(alice, bob, carol, world_a, world_b) -> None:
    threads = reverse("admin:unibox_threads")
    a_page = reverse("admin:unibox_thread", args=[world_a.thread.pk])
    b_page = reverse("admin:unibox_thread", args=[world_b.thread.pk])

    html = logged_in(bob).get(threads).content.decode()
    assert world_a.thread.pk in html and world_b.thread.pk not in html
    assert logged_in(bob).get(a_page).status_code == 200
    assert logged_in(bob).get(b_page).status_code == 404
    assert logged_in(carol).get(a_page).status_code == 404
    assert logged_in(carol).post(a_page, {"message": "sneaky", "message_type": "imessage"}).status_code == 404

    html = logged_in(alice).get(threads).content.decode()
    assert world_a.thread.pk in html and world_b.thread.pk in html
    assert logged_in(alice).get(b_page).status_code == 200


def test_unibox_needs_staff_login_and_thread_permission(client, dave, world_a) -> None:
    page = reverse("admin:unibox_thread", args=[world_a.thread.pk])
    response = client.get(page)
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]
    # dave is a member of A but holds no model permission.
    assert logged_in(dave).get(page).status_code == 403
    assert logged_in(dave).get(reverse("admin:unibox_threads")).status_code == 403


def test_unknown_thread_id_is_404(alice) -> None:
    assert logged_in(alice).get(reverse("admin:unibox_thread", args=["0" * 24])).status_code == 404
    assert logged_in(alice).get(reverse("admin:unibox_thread", args=["not-an-id"])).status_code == 404


def test_foreign_key_choices_are_scoped(bob, world_a, world_b) -> None:
    html = logged_in(bob).get(reverse("admin:lines_line_add")).content.decode()
    assert world_a.workspace.pk in html
    assert world_b.workspace.pk not in html and world_b.workspace.name not in html
    html = logged_in(bob).get(reverse("admin:fallback_fallbackconfig_add")).content.decode()
    assert world_a.workspace.pk in html and world_b.workspace.pk not in html


def test_staff_cannot_write_into_another_workspace(bob, world_a, world_b) -> None:
    client = logged_in(bob)
    response = client.post(reverse("admin:leads_leadlist_add"),
                           {"workspace": world_b.workspace.pk, "name": "Smuggled"})
    assert response.status_code == 200  # the form comes back with an error
    assert not LeadList.objects.filter(name="Smuggled").exists()
    foreign_list = LeadList.objects.filter(workspace=world_b.workspace).first()
    response = client.post(reverse("admin:leads_lead_add"), {
        "workspace": world_a.workspace.pk, "list": foreign_list.pk, "first_name": "Eve", "phone": "+12025550177",
        "custom_fields": "{}", "source": "admin",
    })
    assert response.status_code == 200
    assert not Lead.objects.filter(first_name="Eve").exists()


def test_lists_from_another_workspace_are_refused_even_for_superusers(alice, world_a, world_b) -> None:
    foreign_list = LeadList.objects.filter(workspace=world_b.workspace).first()
    response = logged_in(alice).post(reverse("admin:leads_lead_add"), {
        "workspace": world_a.workspace.pk, "list": foreign_list.pk, "first_name": "Eve", "phone": "+12025550177",
        "custom_fields": "{}", "source": "admin",
    })
    assert response.status_code == 200
    assert "This belongs to another workspace." in response.content.decode()
    assert not Lead.objects.filter(first_name="Eve").exists()


def test_membership_and_workspaces_are_managed_by_superusers_only(bob, world_a) -> None:
    client = logged_in(bob)
    assert client.get(reverse("admin:tuco_workspace_add")).status_code == 403
    assert client.get(reverse("admin:tuco_workspacemember_add")).status_code == 403
    html = client.get(reverse("admin:tuco_workspace_change", args=[world_a.workspace.pk])).content.decode()
    assert "bob" in html  # members are listed…
    assert 'name="workspacemember_set-0-user"' not in html  # …but not editable


def test_action_cannot_reach_another_workspaces_messages(carol, world_a) -> None:
    response = logged_in(carol).post(changelist("messaging_message"), {
        "action": "cancel_messages", "_selected_action": [world_a.outbound.pk]})
    assert response.status_code in (200, 302)
    assert Message.objects.get(pk=world_a.outbound.pk).status == "pending"


def test_staff_line_edit_saves_only_changed_columns(bob, world_a) -> None:
    line = world_a.line
    url = reverse("admin:lines_line_change", args=[line.pk])
    html = logged_in(bob).get(url).content.decode()
    assert "health" in html
    # A worker marks the line unhealthy while the operator has the form open…
    Line.objects.filter(pk=line.pk).update(health_status="unhealthy", health_reason="relay down")
    response = logged_in(bob).post(url, {
        "workspace": line.workspace_id, "channel_type": "phone", "line_type": "byon", "device": line.device_id,
        "phone": line.phone, "email": "", "first_name": "New", "last_name": "", "is_active": "on",
        "timezone": "UTC", "daily_total_limit": 80, "daily_new_limit": 50, "hourly_first_touch_limit": 50,
        "contact_gap_seconds": 0, "availability_daily_cap": 70, "smtp_host": "", "smtp_port": 587,
        "smtp_username": "", "new_smtp_password": "",
        "daily_usage-TOTAL_FORMS": 0, "daily_usage-INITIAL_FORMS": 0,
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    line.refresh_from_db()
    # …and the operator's save keeps the worker's write while applying the operator's edits.
    assert (line.first_name, line.daily_total_limit) == ("New", 80)
    assert (line.health_status, line.health_reason) == ("unhealthy", "relay down")
    assert line.smtp_password == "smtp-pw-Acme-S3CRET"  # blank write-only input keeps the secret


def test_api_key_admin_never_lists_hashes(alice, world_a) -> None:
    key, raw = api_key_create(workspace=world_a.workspace)
    html = logged_in(alice).get(changelist("tuco_apikey")).content.decode()
    html += logged_in(alice).get(reverse("admin:tuco_apikey_change", args=[key.pk])).content.decode()
    assert ApiKey.objects.get(pk=key.pk).key_hash not in html
    assert raw not in html
    assert key.prefix in html
