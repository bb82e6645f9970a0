"""The campaign admin in a real browser: an operator opens a campaign from the list, reads its step numbers
and recipient badges, pauses it with the button and sees the new status; the Unibox labels the campaign's
messages with their campaign and step.

Playwright (sync API) drives Debian's chromium against pytest-django's live server; screenshots go to
test-artifacts/.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission

from campaigns.models import Campaign
from campaigns.selectors import campaign_stats
from messaging.models import Message, QueuedReason
from tests.admin.conftest import make_staff
from tests.browser.support import PASSWORD, shot_of
from tests.campaigns.campaign_seed import LEADS, SeededCampaign, seed_campaign
from tests.factories import DeviceFactory, LineFactory, WorkspaceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def seeded() -> SeededCampaign:
    workspace = WorkspaceFactory(name="Sunrise Tours")
    line = LineFactory(workspace=workspace, device=DeviceFactory(workspace=workspace), phone="+14155550123",
                       first_name="Sam", last_name="Rivera")
    operator = make_staff("operator", workspaces=[workspace])
    operator.set_password(PASSWORD)
    operator.save()
    operator.user_permissions.add(*Permission.objects.filter(content_type__app_label="campaigns"))
    return seed_campaign(workspace, line)


def log_in(page: Any, base: str) -> None:
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/admin/")


def test_operator_reads_a_campaign_and_pauses_it(live_server: Any, page: Any, seeded: SeededCampaign) -> None:
    campaign = seeded.campaign
    log_in(page, live_server.url)

    page.goto(f"{live_server.url}/admin/campaigns/campaign/")
    row = page.locator("#result_list tbody tr", has_text="Spring outreach")
    assert row.locator("[data-campaign-status]").inner_text() == "active"
    assert row.locator("td.field-enrolled").inner_text() == str(len(LEADS))
    shot_of(page, "campaign-list.png")
    row.locator("th.field-name a").click()
    page.wait_for_selector("#campaign-report")

    stats = campaign_stats(campaign)
    for step in stats["steps"]:
        cells = page.locator(f"#campaign-steps tr[data-step='{step['index']}']")
        for name in ("queued", "sent", "delivered", "read", "failed", "fallback", "replied", "stopped"):
            assert cells.locator(f"[data-stat='{name}']").inner_text() == str(step[name]), (step["index"], name)
    # One badge per lead, as the recipients API gives them, each visibly rendered.
    for first, badge in LEADS.items():
        recipient = page.locator(f"#campaign-recipients tr[data-lead-id='{seeded.leads[first].pk}']")
        assert recipient.locator("span[data-badge]").inner_text() == badge
        assert recipient.locator("[data-why]").inner_text().strip()
    assert page.locator("#campaign-recipients span[data-badge='Failed']").evaluate(
        "el => getComputedStyle(el).backgroundColor") != page.locator(
        "#campaign-recipients span[data-badge='Sent']").evaluate("el => getComputedStyle(el).backgroundColor")
    assert page.locator("#campaign-launch").count() == 0 and page.locator("#campaign-resume").count() == 0
    shot_of(page, "campaign-detail.png")

    page.click("#campaign-pause")
    page.wait_for_selector("ul.messagelist li.success")
    assert "Campaign “Spring outreach” paused." in page.locator("ul.messagelist").inner_text()
    assert page.locator(".field-status_display [data-campaign-status]").inner_text() == "paused"
    assert page.locator("#campaign-resume").is_visible() and page.locator("#campaign-pause").count() == 0
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.PAUSED
    held = Message.objects.get(pk=seeded.messages["Ed"].pk)
    assert held.queued_reason == QueuedReason.CAMPAIGN_PAUSED
    ed = page.locator(f"#campaign-recipients tr[data-lead-id='{seeded.leads['Ed'].pk}'] [data-why]")
    assert "campaign is paused" in ed.inner_text()
    shot_of(page, "campaign-paused.png")

    # The step 0 message to Ben, in his Unibox thread: labelled with its campaign and step, linking back.
    ben = seeded.messages["Ben"]
    page.goto(f"{live_server.url}/admin/messaging/thread/unibox/{ben.thread_id}/")
    label = page.locator(f"#m-{ben.pk} [data-campaign-label]")
    assert label.inner_text().strip() == "Campaign Spring outreach · step 0"
    shot_of(page, "campaign-unibox-label.png")
    label.locator("a").click()
    page.wait_for_selector("#campaign-report")
    assert page.url.endswith(f"/admin/campaigns/campaign/{campaign.pk}/change/")
