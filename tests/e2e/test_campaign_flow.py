"""End to end: a campaign through web, worker, beat and the relay simulator. A reply between two steps stops
the lead's next step; another lead gets every step, each one wait (scaled by TUCO_CAMPAIGN_WAIT_SCALE) after the
actual send of the one before."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.e2e.harness import Stack, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]
WAIT = 3600  # one hour, 3.6 s in the e2e stack
SCALE = 0.001


def _at(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def test_a_reply_between_two_steps_stops_step_2(stack: Stack) -> None:
    sim = stack.sims[0]
    _, key, line_id = stack.workspace_with_line(sim)
    created = stack.api(key, "POST", "/api/campaigns", json={"name": "e2e", "steps": [
        {"message": "Hi {firstName|there}"},
        {"message": "Following up, {firstName}", "waitSeconds": WAIT},
        {"message": "Last note", "waitSeconds": WAIT}]})
    assert created.status_code == 201, created.text
    campaign_id = created.json()["campaign"]["_id"]
    replier, silent = "+12025557101", "+12025557102"
    for name, phone in (("Ada", replier), ("Grace", silent)):
        added = stack.api(key, "POST", f"/api/campaigns/{campaign_id}/leads",
                          json={"lead": {"firstName": name, "phone": phone}})
        assert added.json()["message"] == "Lead added to campaign and sequence started", added.text
    assert stack.api(key, "POST", f"/api/campaigns/{campaign_id}/launch").status_code == 200

    wait_until(lambda: len(sim.sent_to(replier)) == 1 and len(sim.sent_to(silent)) == 1, timeout=30,
               what="step 0 to both leads")
    assert [c["text"] for c in sim.sent_to(replier)] == ["Hi Ada"]
    sim.control("POST", "inbound", {"from": replier, "text": "Who is this?"})

    wait_until(lambda: len(sim.sent_to(silent)) == 3, timeout=40, what="every step to the silent lead")
    assert [c["text"] for c in sim.sent_to(silent)] == ["Hi Grace", "Following up, Grace", "Last note"]
    assert [c["text"] for c in sim.sent_to(replier)] == ["Hi Ada"]  # the reply stopped steps 1 and 2

    messages = stack.api(key, "GET", f"/api/messages?campaignId={campaign_id}").json()["messages"]
    to_silent = sorted((m for m in messages if m["recipientPhone"] == silent), key=lambda m: m["stepIndex"])
    assert [m["stepIndex"] for m in to_silent] == [0, 1, 2] and all(m["campaignId"] == campaign_id
                                                                   for m in to_silent)
    assert all(m["fromLineId"] == line_id for m in to_silent)
    for before, after in zip(to_silent, to_silent[1:], strict=False):
        # Each step is created a wait after the previous step's actual send.
        assert (_at(after["createdAt"]) - _at(before["sentAt"])).total_seconds() >= WAIT * SCALE - 0.05

    recipients = {r["phone"]: r for r in stack.api(key, "GET", f"/api/campaigns/{campaign_id}/recipients")
                  .json()["recipients"]}
    assert recipients[replier]["badge"] == "Replied" and recipients[replier]["stopReason"] == "replied"
    replies = stack.api(key, "GET", f"/api/replies?campaignId={campaign_id}").json()["replies"]
    assert [r["recipientPhone"] for r in replies] == [replier]
    assert replies[0]["campaignId"] == campaign_id and replies[0]["stepIndex"] == 0
    # The relay has the last text before Tuco has verified it left the device: wait for "sent".
    def campaign_stats() -> dict:
        return stack.api(key, "GET", f"/api/campaigns/{campaign_id}/stats").json()
    wait_until(lambda: [s["sent"] for s in campaign_stats()["steps"]] == [2, 1, 1], timeout=20,
               what="every step verified")
    stats = campaign_stats()
    assert stats["steps"][0]["replied"] == 1
    assert stats["replyRate"] == 0.5
