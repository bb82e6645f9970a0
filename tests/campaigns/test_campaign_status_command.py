"""`manage.py campaign_status ID [--json]`: the campaign's status, lines, hold, per-step stats (the API's
GET …/stats numbers) and recipients counted by badge (the badges of GET …/recipients)."""

from __future__ import annotations

import json
from collections import Counter
from io import StringIO

import pytest
from django.core.management import CommandError, ManagementUtility, call_command
from django.http import QueryDict

from campaigns.engine import NO_LINE
from campaigns.selectors import RECIPIENT_BADGES, campaign_recipients
from tests.campaigns.campaign_seed import LEADS, seed_campaign
from tests.factories import LineFactory

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = StringIO()
    call_command("campaign_status", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def seeded(workspace):
    line = LineFactory(workspace=workspace, phone="+14155550101", first_name="Sam", last_name="Rivera")
    return seed_campaign(workspace, line), line


def test_json_has_the_stats_of_the_api_and_every_badge_counted(api, seeded) -> None:
    seed, line = seeded
    data = json.loads(_run(seed.campaign.pk, "--json"))
    api_stats = api.get(f"/api/campaigns/{seed.campaign.pk}/stats").json()
    assert data["steps"] == api_stats["steps"] and data["leads"] == api_stats["leads"]
    assert data["replyRate"] == api_stats["replyRate"]
    # The seed's numbers, by hand: Ada (delivered, read), Gus (delivered) and Ben sent; Cy failed; Di fallback;
    # Ed waiting; Flo cancelled.
    step0 = data["steps"][0]
    assert (step0["queued"], step0["sent"], step0["delivered"], step0["read"], step0["failed"],
            step0["fallback"], step0["replied"]) == (1, 3, 2, 1, 1, 1, 1)
    assert step0["stopped"] == 3  # Cy, Di, Flo stopped before step 1; Ada, who replied after step 0, at step 1
    assert data["steps"][1] == {"index": 1, **dict.fromkeys(("queued", "sent", "delivered", "read", "failed",
                                                              "fallback", "replied"), 0), "stopped": 1}
    assert data["replyRate"] == 0.3333  # Ada replied, of the three leads a step reached
    # Every badge, counted in SQL, equals the badges the recipients list shows (one lead each).
    recipients = api.get(f"/api/campaigns/{seed.campaign.pk}/recipients").json()["recipients"]
    assert data["recipients"] == dict(Counter(r["badge"] for r in recipients))
    assert data["recipients"] == dict.fromkeys(RECIPIENT_BADGES, 1)
    assert list(data["recipients"]) == list(RECIPIENT_BADGES)
    assert {"campaignId": seed.campaign.pk, "name": "Spring outreach", "status": "active", "holds": False,
            "holdReason": None, "allActiveLines": False, "usableLines": 1}.items() <= data.items()
    assert data["lines"] == [{"id": line.pk, "address": "+14155550101", "name": "Sam Rivera", "active": True,
                              "health": "healthy", "healthReason": None, "usable": True}]


def test_badge_counts_follow_the_recipient_badge_on_a_larger_page(seeded) -> None:
    # The SQL count and the per-row badge are two codings of one rule: compare them over the whole set.
    seed, _ = seeded
    rows, _ = campaign_recipients(seed.campaign, params=QueryDict("limit=100"))
    assert {r["leadId"]: r["badge"] for r in rows} == {seed.leads[first].pk: badge for first, badge in LEADS.items()}


def test_text_names_status_lines_steps_and_badges(seeded) -> None:
    seed, _ = seeded
    text = _run(seed.campaign.pk)
    assert text.startswith(f"Campaign Spring outreach ({seed.campaign.pk}): active\n")
    assert "Lines (assigned): +14155550101 (healthy); 1 of 1 can send now" in text
    assert "Holds: no" in text
    header, step0, step1 = [row for row in text.splitlines() if row.lstrip().startswith(("step", "0 ", "1 "))]
    assert header.split() == ["step", "queued", "sent", "delivered", "read", "failed", "fallback", "replied",
                              "stopped"]
    assert step0.split() == ["0", "1", "3", "2", "1", "1", "1", "1", "3"]
    assert step1.split() == ["1"] + ["0"] * 7 + ["1"]
    assert "reply rate 33.3%" in text
    assert "Recipients: " + ", ".join(f"{b} 1" for b in RECIPIENT_BADGES) in text


def test_a_campaign_without_a_usable_line_says_it_holds_and_why(seeded) -> None:
    seed, line = seeded
    line.is_active = False
    line.save()
    data = json.loads(_run(seed.campaign.pk, "--json"))
    assert data["holds"] is True and data["holdReason"] == NO_LINE and data["usableLines"] == 0
    assert data["lines"][0]["active"] is False and data["lines"][0]["usable"] is False
    assert f"Holds: yes, {NO_LINE}" in _run(seed.campaign.pk)
    assert "+14155550101 (inactive)" in _run(seed.campaign.pk)


def test_unknown_id_is_a_clear_error_and_a_non_zero_exit(seeded, capsys) -> None:
    with pytest.raises(CommandError, match="campaign '000000000000000000000000' not found"):
        call_command("campaign_status", "000000000000000000000000")
    # As `manage.py` runs it (in this process, so on the test database): exit status 1, the reason on stderr.
    with pytest.raises(SystemExit) as exit_info:
        ManagementUtility(["manage.py", "campaign_status", "nope", "--json"]).execute()
    assert exit_info.value.code == 1
    captured = capsys.readouterr()
    assert "campaign 'nope' not found" in captured.err and captured.out == ""
