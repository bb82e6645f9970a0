"""The campaign admin: the list's numbers, the campaign page (the API's stats and recipient badges, why each
lead waits), Launch / Pause / Resume through the API's services, workspace scoping; the Unibox's campaign label."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.http import QueryDict
from django.urls import reverse
from django.utils.html import escape

from campaigns.input import parse_campaign
from campaigns.models import Campaign, Enrollment
from campaigns.selectors import campaign_recipients, campaign_stats
from campaigns.services import campaign_create
from messaging.explain import explanation_for
from messaging.models import Message, QueuedReason, Status
from tests.admin.conftest import logged_in, make_staff
from tests.campaigns.campaign_seed import LEADS, SeededCampaign, seed_campaign

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:campaigns_campaign_changelist")


def change_url(campaign: Campaign) -> str:
    return reverse("admin:campaigns_campaign_change", args=[campaign.pk])


def button_url(campaign: Campaign, verb: str) -> str:
    return reverse(f"admin:campaigns_campaign_{verb}", args=[campaign.pk])


def grant_campaigns(user: Any, *codenames: str) -> Any:
    perms = Permission.objects.filter(content_type__app_label="campaigns", codename__in=codenames or
                                      ("view_campaign", "change_campaign"))
    user.user_permissions.add(*perms)
    return user


def notes(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def cell(row: str, field: str) -> str:
    match = re.search(rf'<t[dh] class="field-{field}[^"]*">(.*?)</t[dh]>', row, re.S)
    assert match, f"no {field} cell in {row[:300]}"
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def list_row(html: str, campaign: Campaign) -> str:
    start = html.rindex("<tr", 0, html.index(f'href="{change_url(campaign)}'))
    return html[start:html.index("</tr>", start)]


def stat(html: str, step: int, name: str) -> int:
    row = re.search(rf'<tr data-step="{step}">(.*?)</tr>', html, re.S).group(1)
    return int(re.search(rf'data-stat="{name}">(\d+)<', row).group(1))


def recipient_row(html: str, lead_id: str) -> str:
    start = html.index(f'<tr data-lead-id="{lead_id}"')
    return html[start:html.index("</tr>", start)]


@pytest.fixture
def seeded(world_a) -> SeededCampaign:
    return seed_campaign(world_a.workspace, world_a.line)


@pytest.fixture
def operator(bob) -> Any:
    return grant_campaigns(bob)


@pytest.fixture
def api_key_for_a(world_a) -> Any:
    from tests.conftest import client_for
    from tuco.services import api_key_create

    return client_for(api_key_create(workspace=world_a.workspace)[1])


def test_the_list_shows_status_lines_steps_and_the_numbers_of_the_stats(operator, world_a, seeded) -> None:
    draft = campaign_create(workspace=world_a.workspace, data=parse_campaign(
        {"name": "Autumn draft", "steps": [{"message": "Hello {firstName}"}]}, creating=True))

    html = logged_in(operator).get(CHANGELIST).content.decode()

    row = list_row(html, seeded.campaign)
    stats = campaign_stats(seeded.campaign)
    assert cell(row, "name") == "Spring outreach"
    assert 'data-campaign-status="active"' in row
    assert cell(row, "lines_display") == world_a.line.display_name
    assert cell(row, "step_count") == "2"
    assert cell(row, "enrolled") == str(stats["leads"]["enrolled"]) == str(len(LEADS))
    assert cell(row, "sent") == str(sum(step["sent"] for step in stats["steps"])) == "3"
    assert cell(row, "replied") == str(stats["leads"]["replied"]) == "1"
    assert cell(row, "reply_rate") == f"{stats['replyRate']:.1%}" == "33.3%"
    # A draft: nothing enrolled or sent, no rate, every active line.
    row = list_row(html, draft)
    assert 'data-campaign-status="draft"' in row and cell(row, "lines_display") == "every active line"
    assert (cell(row, "step_count"), cell(row, "enrolled"), cell(row, "sent"), cell(row, "reply_rate")) == (
        "1", "0", "0", "—")
    assert html.index(change_url(draft)) < html.index(change_url(seeded.campaign))  # newest first


def test_the_campaign_page_shows_the_api_stats_and_each_recipients_badge_step_and_wait(
        operator, seeded, api_key_for_a) -> None:
    html = logged_in(operator).get(change_url(seeded.campaign)).content.decode()

    api_stats = api_key_for_a.get(f"/api/campaigns/{seeded.campaign.pk}/stats").json()
    for step in api_stats["steps"]:
        for name in ("queued", "sent", "delivered", "read", "failed", "fallback", "replied", "stopped"):
            assert stat(html, step["index"], name) == step[name], (step["index"], name)
    assert (stat(html, 0, "sent"), stat(html, 0, "delivered"), stat(html, 0, "failed"), stat(html, 1, "stopped")) \
        == (3, 2, 1, 1)
    assert '<span id="campaign-reply-rate">33.3%</span>' in html
    api_rows = api_key_for_a.get(f"/api/campaigns/{seeded.campaign.pk}/recipients").json()["recipients"]
    assert len(api_rows) == len(LEADS)
    for api_row in api_rows:
        row = recipient_row(html, api_row["leadId"])
        assert f'data-badge="{api_row["badge"]}"' in row
        assert escape(api_row["waitingBecause"]) in row
    for first, badge in LEADS.items():
        assert f'data-badge="{badge}"' in recipient_row(html, seeded.leads[first].pk)
    for badge in LEADS.values():
        assert re.search(rf'data-badge-count="{badge}">.*?<span class="n">1</span>', html)
    # Ed waits on his step 0 message: its own explanation. Ben's step 1 has a time.
    ed = recipient_row(html, seeded.leads["Ed"].pk)
    assert escape(explanation_for(Message.objects.get(pk=seeded.messages["Ed"].pk))) in ed
    ben_enrollment = Enrollment.objects.get(campaign=seeded.campaign, lead=seeded.leads["Ben"])
    ben = recipient_row(html, seeded.leads["Ben"].pk)
    assert ben_enrollment.state == Enrollment.State.SCHEDULED and ben_enrollment.next_step == 1
    assert "Step 1 is due at " in ben and ben_enrollment.next_at.strftime("%Y-%m-%d %H:%M:%S") in ben
    assert 'id="campaign-pause"' in html and 'id="campaign-launch"' not in html
    assert 'id="campaign-holds"' not in html


def test_pause_and_resume_buttons_go_through_the_services_and_refusals_are_messages(operator, seeded) -> None:
    client = logged_in(operator)
    campaign = seeded.campaign

    response = client.post(button_url(campaign, "pause"), follow=True)
    assert response.status_code == 200 and "Campaign “Spring outreach” paused." in notes(response)
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.PAUSED
    # What campaign_pause does, not just the column: the waiting message is held, scheduled leads wait.
    ed = Message.objects.get(pk=seeded.messages["Ed"].pk)
    assert ed.status == Status.QUEUED and ed.queued_reason == QueuedReason.CAMPAIGN_PAUSED
    assert not Enrollment.objects.filter(campaign=campaign, state=Enrollment.State.SCHEDULED).exists()
    assert 'data-campaign-status="paused"' in response.content.decode()
    assert 'id="campaign-resume"' in response.content.decode()

    response = client.post(button_url(campaign, "pause"), follow=True)
    assert response.status_code == 200
    assert ("Campaign “Spring outreach” was not paused: Only an active campaign can be paused "
            "(status is 'paused')") in notes(response)

    response = client.post(button_url(campaign, "resume"), follow=True)
    assert "Campaign “Spring outreach” resumed." in notes(response)
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.ACTIVE
    assert Message.objects.get(pk=ed.pk).queued_reason != QueuedReason.CAMPAIGN_PAUSED

    assert client.get(button_url(campaign, "pause")).status_code == 405  # a link never changes a campaign


def test_changelist_actions_launch_pause_and_resume_only_what_they_can(operator, world_a, seeded) -> None:
    draft = campaign_create(workspace=world_a.workspace, data=parse_campaign(
        {"name": "Autumn draft", "steps": [{"message": "Hello {firstName}"}]}, creating=True))
    client = logged_in(operator)

    def run(action: str, *campaigns: Campaign) -> list[str]:
        response = client.post(CHANGELIST, {"action": action, "_selected_action": [c.pk for c in campaigns]},
                               follow=True)
        assert response.status_code == 200
        return notes(response)

    assert run("launch_campaigns", draft, seeded.campaign) == [
        "1 campaign launched.", "1 campaign left as is: only a draft campaign can be launched."]
    assert Campaign.objects.get(pk=draft.pk).status == Campaign.Status.ACTIVE
    assert Campaign.objects.get(pk=draft.pk).launched_at is not None
    assert run("pause_campaigns", draft, seeded.campaign) == ["2 campaigns paused."]
    assert run("resume_campaigns", seeded.campaign) == ["1 campaign resumed."]
    assert Campaign.objects.get(pk=draft.pk).status == Campaign.Status.PAUSED
    assert Campaign.objects.get(pk=seeded.campaign.pk).status == Campaign.Status.ACTIVE


def test_another_workspaces_campaign_is_not_visible_nor_changeable(world_a, world_b, seeded) -> None:
    carol = grant_campaigns(make_staff("carol", workspaces=[world_b.workspace]))
    client = logged_in(carol)

    assert "Spring outreach" not in client.get(CHANGELIST).content.decode()
    assert client.get(change_url(seeded.campaign)).status_code == 302  # the admin's "does not exist"
    assert client.post(button_url(seeded.campaign, "pause")).status_code == 404
    client.post(CHANGELIST, {"action": "pause_campaigns", "_selected_action": [seeded.campaign.pk]})
    assert Campaign.objects.get(pk=seeded.campaign.pk).status == Campaign.Status.ACTIVE


def test_a_view_only_operator_gets_no_buttons_and_cannot_post_them(bob, seeded) -> None:
    grant_campaigns(bob, "view_campaign")
    client = logged_in(bob)
    html = client.get(change_url(seeded.campaign)).content.decode()
    assert 'id="campaign-report"' in html and 'id="campaign-pause"' not in html
    assert client.post(button_url(seeded.campaign, "pause")).status_code == 403
    assert Campaign.objects.get(pk=seeded.campaign.pk).status == Campaign.Status.ACTIVE


def test_a_campaign_without_a_usable_line_says_it_holds(operator, world_a, seeded) -> None:
    world_a.line.is_active = False
    world_a.line.save()
    html = logged_in(operator).get(change_url(seeded.campaign)).content.decode()
    assert 'id="campaign-holds"' in html and "No assigned line can send now" in html
    assert "0 of 1 can send now." in html


def test_the_recipients_table_pages_with_the_apis_cursor(operator, world_a, seeded, monkeypatch) -> None:
    monkeypatch.setattr("campaigns.admin.RECIPIENTS_PER_PAGE", 4)
    client = logged_in(operator)
    first = client.get(change_url(seeded.campaign)).content.decode()
    cursor = re.search(r'href="\?recipients_cursor=([0-9a-f]{24})" id="recipients-older"', first).group(1)
    second = client.get(f"{change_url(seeded.campaign)}?recipients_cursor={cursor}").content.decode()
    shown = re.findall(r'<tr data-lead-id="([0-9a-f]{24})"', first) + re.findall(r'<tr data-lead-id="([0-9a-f]{24})"',
                                                                                 second)
    rows, _ = campaign_recipients(seeded.campaign, params=QueryDict("limit=100"))
    assert shown == [row["leadId"] for row in rows]  # newest first, each once
    assert 'id="recipients-older"' not in second
    # A hand-edited cursor is the first page, not an error page.
    assert client.get(f"{change_url(seeded.campaign)}?recipients_cursor=bogus").status_code == 200


def test_the_unibox_labels_campaign_messages_with_campaign_and_step(operator, world_a, seeded) -> None:
    ben = seeded.messages["Ben"]
    url = reverse("admin:unibox_thread", args=[ben.thread_id])
    html = logged_in(operator).get(url).content.decode()
    start = html.rindex('<div class="msg ', 0, html.index(f'id="m-{ben.pk}"'))
    end = html.find('<div class="msg ', start + 1)
    bubble = html[start:end if end != -1 else len(html)]
    assert "Campaign Spring outreach · step 0" in bubble
    assert f'href="{change_url(seeded.campaign)}"' in bubble

    plain = logged_in(operator).get(reverse("admin:unibox_thread", args=[world_a.thread.pk])).content.decode()
    assert "data-campaign-label" not in plain  # a single send has no campaign


def test_the_list_costs_the_same_queries_for_more_campaigns(operator, world_a, seeded) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        client = logged_in(operator)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(CHANGELIST).status_code == 200
        return len(captured)

    def more(n: int) -> None:
        for i in range(n):
            campaign_create(workspace=world_a.workspace, data=parse_campaign(
                {"name": f"Extra {i}", "steps": [{"message": "Hi"}], "lineIds": [world_a.line.pk]}, creating=True))

    more(2)
    few = queries()
    more(10)
    assert queries() == few  # numbers are subqueries of the page's one SELECT, lines one prefetch
