"""The campaign engine on the service level: steps created when due, waits measured from the actual send, line
rotation and sticky lines, one attempt per line on step 0 only, replies, stop conditions, pause / resume, holds."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.models import Enrollment
from leads.dnc import dnc_add
from lines.models import Line
from messaging.models import Message
from messaging.send.dispatcher import send_message
from tests.campaigns.conftest import (
    campaign_row,
    create_campaign,
    enroll,
    enrollment_of,
    launch,
    reply,
    send_all,
    step_messages,
    sweep,
    verify_not_sent,
)
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

HOUR = 3600
TWO_STEPS = [{"message": "Hi {firstName|there}, {line_name} here"},
             {"message": "Any thoughts, {firstName}?", "waitSeconds": HOUR}]


def _active(api, **body):
    doc = create_campaign(api, **body)
    launch(api, doc["_id"])
    return doc["_id"]


def test_first_touches_rotate_over_the_lines_and_follow_ups_stay_on_the_first_line(api, workspace, lines,
                                                                                  relays) -> None:
    campaign_id = _active(api, steps=TWO_STEPS)
    leads = enroll(api, workspace, campaign_id, n=4, first_name="Ada")
    assert sweep()["created"] == 4
    firsts = step_messages(campaign_id, 0)
    assert sorted(m.line_id for m in firsts) == sorted([lines[0].pk, lines[1].pk] * 2)
    assert all(m.campaign_id == campaign_id and m.step_index == 0 for m in firsts)
    assert send_all(campaign_id) == ["sent"] * 4
    # Rendered: single braces, the fallback, the sending line's name.
    assert sorted(relays.texts(1) + relays.texts(2)) == ["Hi Ada, Line 1 here"] * 2 + ["Hi Ada, Line 2 here"] * 2
    with time_machine.travel(timezone.now() + timedelta(seconds=HOUR + 5)):
        assert sweep()["created"] == 4
        seconds = {m.lead_id: m.line_id for m in step_messages(campaign_id, 1)}
        assert seconds == {m.lead_id: m.line_id for m in firsts}  # sticky sender
        assert send_all(campaign_id) == ["sent"] * 4
    for lead in leads:
        assert enrollment_of(campaign_id, lead).state == Enrollment.State.COMPLETED


def test_a_one_hour_step_waits_one_hour_after_the_actual_send_of_step_0(api, workspace, lines, relays) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        campaign_id = _active(api, steps=TWO_STEPS)
        [lead] = enroll(api, workspace, campaign_id)
        assert sweep()["created"] == 1
        # Step 0 goes out 25 minutes late (pacing, a window, a busy line): the wait starts from then.
        clock.move_to(start + timedelta(minutes=25))
        assert send_all(campaign_id) == ["sent"]
        sent_at = step_messages(campaign_id, 0)[0].sent_at
        assert sent_at == start + timedelta(minutes=25)
        enrollment = enrollment_of(campaign_id, lead)
        assert enrollment.next_at == sent_at + timedelta(hours=1) and enrollment.next_step == 1
        clock.move_to(start + timedelta(hours=1, minutes=5))  # 1 h after the enrollment, 40 min after the send
        assert sweep()["created"] == 0 and step_messages(campaign_id, 1) == []
        clock.move_to(sent_at + timedelta(hours=1) - timedelta(seconds=1))
        assert sweep()["created"] == 0
        clock.move_to(sent_at + timedelta(hours=1))
        assert sweep()["created"] == 1
        assert send_all(campaign_id) == ["sent"]


def test_step_0_moves_to_the_second_line_after_a_failed_attempt_and_step_1_does_not(api, workspace, lines,
                                                                                   relays) -> None:
    campaign_id = _active(api, steps=TWO_STEPS, lineIds=[lines[0].pk, lines[1].pk])
    [lead] = enroll(api, workspace, campaign_id)
    sweep()
    [first] = step_messages(campaign_id, 0)
    tried_line = first.line_id
    other = next(n for n, line in ((1, lines[0]), (2, lines[1])) if line.pk != tried_line)
    own = 3 - other
    relays.fail_next[own] = 1
    assert send_message(first.pk) == "verifying"
    assert verify_not_sent(first) == "not_sent"
    first.refresh_from_db()
    assert first.status == "queued" and first.line_id != tried_line and first.lines_tried == [tried_line]
    assert send_message(first.pk) == "sent"
    assert len(relays.sent[other]) == 1 and relays.sent[own] == []
    # Step 1 stays on the line the lead heard from; one failed attempt there fails it (no other line).
    first.refresh_from_db()
    assert enrollment_of(campaign_id, lead).line_id == first.line_id
    with time_machine.travel(timezone.now() + timedelta(seconds=HOUR + 5)):
        sweep()
        [second] = step_messages(campaign_id, 1)
        assert second.line_id == first.line_id and second.line_choices == [first.line_id]
        relays.fail_next[other] = 1
        assert send_message(second.pk) == "verifying"
        verify_not_sent(second)
        second.refresh_from_db()
        assert second.status == "failed" and second.lines_tried == []
        assert len(relays.sent[own]) == 0  # never moved
    enrollment = enrollment_of(campaign_id, lead)
    assert enrollment.state == Enrollment.State.STOPPED and enrollment.stop_reason == "failed"


def test_step_0_fails_after_one_attempt_on_each_line(api, workspace, lines, relays) -> None:
    campaign_id = _active(api, steps=TWO_STEPS)
    [lead] = enroll(api, workspace, campaign_id)
    sweep()
    [message] = step_messages(campaign_id, 0)
    relays.fail_next = {1: 1, 2: 1}
    assert send_message(message.pk) == "verifying" and verify_not_sent(message) == "not_sent"
    assert send_message(message.pk) == "verifying"
    verify_not_sent(message)
    message.refresh_from_db()
    assert message.status == "failed" and message.attempt_count == 2 and "2 line(s)" in message.error
    assert enrollment_of(campaign_id, lead).stop_reason == "failed"


def test_a_reply_between_two_steps_stops_step_2_including_a_created_unclaimed_message(api, workspace, lines,
                                                                                      relays) -> None:
    campaign_id = _active(api, steps=[*TWO_STEPS, {"message": "Last one", "waitSeconds": HOUR}])
    early, late = enroll(api, workspace, campaign_id, n=2)
    sweep()
    send_all(campaign_id)
    # `early` replies before step 1 exists; step 1 of `late` is created and waiting when `late` replies.
    assert reply(workspace, lines[0], early.phone) == "received"
    with time_machine.travel(timezone.now() + timedelta(seconds=HOUR + 5)):
        counts = sweep()
        assert counts["created"] == 1
        [queued] = step_messages(campaign_id, 1)
        assert queued.lead_id == late.pk and queued.status == "pending"
        reply(workspace, lines[0], late.phone, "Who is this?")
        queued.refresh_from_db()
        assert queued.status == "cancelled"
        assert send_message(queued.pk) == "gone"
    for lead in (early, late):
        enrollment = enrollment_of(campaign_id, lead)
        assert (enrollment.state, enrollment.stop_reason) == ("stopped", "replied") and enrollment.replied_at
    with time_machine.travel(timezone.now() + timedelta(seconds=3 * HOUR)):
        assert sweep()["created"] == 0
    assert len(relays.sent[1]) + len(relays.sent[2]) == 2


def test_continue_mode_keeps_sending_but_only_if_no_reply_steps_are_skipped_and_stop_always_stops(
        api, workspace, lines, relays) -> None:
    campaign_id = _active(api, replyBehavior="continue", steps=[
        {"message": "One"}, {"message": "Two", "waitSeconds": HOUR},
        {"message": "Three (non-responders)", "waitSeconds": HOUR, "onlyIfNoReply": True},
        {"message": "Four", "waitSeconds": HOUR}])
    talker, quitter = enroll(api, workspace, campaign_id, n=2)
    sweep()
    send_all(campaign_id)
    reply(workspace, lines[0], talker.phone, "Sounds good")
    reply(workspace, lines[0], quitter.phone, "STOP")
    now = timezone.now()
    with time_machine.travel(now + timedelta(seconds=HOUR + 5)):
        assert sweep()["created"] == 1
        send_all(campaign_id)
    with time_machine.travel(now + timedelta(seconds=2 * HOUR + 10)):
        sweep()  # step 2 is skipped for the lead who replied: step 3 keeps its own wait after step 1's send
        assert step_messages(campaign_id, 2) == []
    with time_machine.travel(now + timedelta(seconds=3 * HOUR + 10)):
        sweep()
        assert [m.body for m in step_messages(campaign_id, 3)] == ["Four"]
        send_all(campaign_id)
        sweep()
    talker_messages = Message.objects.filter(campaign_id=campaign_id, lead=talker).order_by("step_index")
    assert [m.step_index for m in talker_messages] == [0, 1, 3]
    assert enrollment_of(campaign_id, talker).state == "completed"
    quit_ = enrollment_of(campaign_id, quitter)
    assert (quit_.state, quit_.stop_reason) == ("stopped", "opted_out")


@pytest.mark.parametrize(("condition", "lead_fields", "reply_text", "reason"), [
    ({"type": "replied_keyword", "keywords": ["not interested"]}, {}, "I'm not interested, thanks", "replied_keyword"),
    ({"type": "has_tag", "tag": "customer"}, {"tags": ["customer"]}, None, "has_tag:customer"),
    ({"type": "lacks_tag", "tag": "warm"}, {"tags": ["cold"]}, None, "lacks_tag:warm"),
])
def test_stop_conditions_stop_the_lead_before_the_step(api, workspace, lines, relays, condition, lead_fields,
                                                       reply_text, reason) -> None:
    campaign_id = _active(api, replyBehavior="continue", steps=[
        {"message": "One"}, {"message": "Two", "waitSeconds": 60, "stopConditions": [condition]}])
    [lead] = enroll(api, workspace, campaign_id, **lead_fields)
    [control] = enroll(api, workspace, campaign_id, tags=["warm"])
    sweep()
    send_all(campaign_id)
    if reply_text:
        reply(workspace, lines[0], lead.phone, reply_text)
        reply(workspace, lines[0], control.phone, "Interested! Call me")
    with time_machine.travel(timezone.now() + timedelta(seconds=65)):
        sweep()
    assert [m.lead_id for m in step_messages(campaign_id, 1)] == [control.pk]
    stopped = enrollment_of(campaign_id, lead)
    assert (stopped.state, stopped.stop_reason) == ("stopped", reason)


def test_contacted_before_and_the_do_not_contact_list_stop_step_0(api, workspace, lines, relays) -> None:
    contacted, blocked, fresh = (LeadFactory(workspace=workspace) for _ in range(3))
    sent = api.post("/api/messages", {"message": "Earlier", "leadId": contacted.pk}, format="json").json()
    Message.objects.filter(pk=sent["message"]["_id"]).update(status="sent", sent_at=timezone.now())
    dnc_add(workspace=workspace, address=blocked.phone)
    campaign_id = _active(api, steps=[{"message": "One", "stopConditions": [{"type": "contacted_before"}]}])
    for lead in (contacted, blocked, fresh):
        api.post(f"/api/campaigns/{campaign_id}/leads", {"leadId": lead.pk}, format="json")
    assert sweep() == {"created": 1, "stopped": 2, "held": 0, "completed": 0}
    assert enrollment_of(campaign_id, contacted).stop_reason == "contacted_before"
    assert enrollment_of(campaign_id, blocked).stop_reason == "opted_out"
    assert [m.lead_id for m in step_messages(campaign_id)] == [fresh.pk]


def test_pause_holds_created_messages_at_once_and_resume_continues_where_each_lead_was(api, workspace, lines,
                                                                                      relays) -> None:
    campaign_id = _active(api, steps=TWO_STEPS)
    sent_lead, waiting_lead = enroll(api, workspace, campaign_id, n=2)
    sweep()
    send_message(step_messages(campaign_id, 0)[0].pk)
    held_message = step_messages(campaign_id, 0)[1]
    assert api.post(f"/api/campaigns/{campaign_id}/pause").status_code == 200
    held_message.refresh_from_db()
    assert held_message.status == "queued" and held_message.queued_reason == "campaign_paused"
    assert held_message.next_attempt_at is None
    doc = api.get(f"/api/messages/{held_message.pk}").json()["message"]
    assert doc["statusExplanation"].startswith("Its campaign is paused")
    assert doc["campaignId"] == campaign_id and doc["stepIndex"] == 0
    assert send_message(held_message.pk) == "held"  # a wake-up already in the broker cannot send it
    with time_machine.travel(timezone.now() + timedelta(seconds=HOUR + 5)):
        assert sweep()["created"] == 0  # the sent lead's step 1 is due, but the campaign is paused
        assert api.post(f"/api/campaigns/{campaign_id}/resume").status_code == 200
        held_message.refresh_from_db()
        assert held_message.queued_reason == "" and held_message.next_attempt_at is not None
        assert send_message(held_message.pk) == "sent"
        assert sweep()["created"] == 1
        assert [m.lead_id for m in step_messages(campaign_id, 1)] == [sent_lead.pk]
    assert len(step_messages(campaign_id, 0)) == 2  # nothing replayed
    assert enrollment_of(campaign_id, waiting_lead).next_step == 1


def test_no_usable_line_holds_the_campaign_and_it_continues_when_a_line_heals(api, workspace, lines, relays) -> None:
    campaign_id = _active(api, steps=TWO_STEPS)
    Line.objects.filter(workspace=workspace).update(health_status="unhealthy", health_reason="relay unreachable")
    [lead] = enroll(api, workspace, campaign_id)
    assert sweep()["held"] == 1
    campaign = campaign_row(campaign_id)
    assert "No assigned line can send now" in campaign.hold_reason
    stats = api.get(f"/api/campaigns/{campaign_id}/stats").json()
    assert stats["holdReason"] == campaign.hold_reason
    recipients = api.get(f"/api/campaigns/{campaign_id}/recipients").json()["recipients"]
    assert recipients[0]["waitingBecause"] == campaign.hold_reason and recipients[0]["badge"] == "Pending"
    Line.objects.filter(pk=lines[1].pk).update(health_status="healthy", health_reason="")
    assert sweep()["created"] == 1
    assert campaign_row(campaign_id).hold_reason == ""
    assert step_messages(campaign_id, 0)[0].line_id == lines[1].pk
    assert enrollment_of(campaign_id, lead).state == "sending"


def test_an_edit_to_a_later_step_reaches_leads_that_have_not_got_there(api, workspace, lines, relays) -> None:
    campaign_id = _active(api, steps=TWO_STEPS)
    enroll(api, workspace, campaign_id)
    sweep()
    send_all(campaign_id)
    api.patch(f"/api/campaigns/{campaign_id}", {"steps": [TWO_STEPS[0], {"message": "Edited follow-up",
                                                                          "waitSeconds": HOUR}]}, format="json")
    with time_machine.travel(timezone.now() + timedelta(seconds=HOUR + 5)):
        sweep()
    assert [m.body for m in step_messages(campaign_id, 1)] == ["Edited follow-up"]


def test_the_sweep_reads_only_the_due_enrollments(api, workspace, lines, relays) -> None:
    """Cost follows the due rows: 1,000 enrollments waiting for later steps add no query and no row read."""
    campaign_id = _active(api, steps=TWO_STEPS)
    enroll(api, workspace, campaign_id, n=2)
    with CaptureQueriesContext(connection) as few:
        sweep()
    Message.objects.filter(campaign_id=campaign_id).delete()
    Enrollment.objects.filter(campaign_id=campaign_id).update(state="scheduled", next_step=0,
                                                              next_at=timezone.now() - timedelta(seconds=1))
    leads = [LeadFactory(workspace=workspace) for _ in range(1000)]
    later = timezone.now() + timedelta(days=1)
    Enrollment.objects.bulk_create([Enrollment(campaign_id=campaign_id, lead=lead, next_at=later, next_step=1)
                                    for lead in leads])
    with CaptureQueriesContext(connection) as many:
        assert sweep()["created"] == 2
    assert len(many.captured_queries) == len(few.captured_queries)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN SELECT * FROM campaigns_enrollment WHERE state = 'scheduled' AND next_at <= now() "
                       "ORDER BY next_at LIMIT 200")
        plan = " ".join(row[0] for row in cursor.fetchall())
    assert "enrollment_due" in plan or "Seq Scan" not in plan, plan
