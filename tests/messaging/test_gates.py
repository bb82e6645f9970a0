"""Pre-send gates with a frozen clock: each gate holds the message with a reason and the exact next attempt."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import responses
import time_machine
from django.core.management import call_command

from lines.models import Device
from messaging.models import Message
from messaging.send.dispatcher import send_message
from tests.factories import DeviceFactory, LineFactory
from tests.messaging.relay_mocks import RELAY, relay_accepts_everything

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 7, 15, 15, 0, 0, tzinfo=UTC)  # a Wednesday, 11:00 in New York


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def device(workspace):
    return DeviceFactory(workspace=workspace, relay_url=RELAY, device_gap_seconds=0)


@pytest.fixture
def line(workspace, device):
    return LineFactory(workspace=workspace, device=device, contact_gap_seconds=0, timezone="America/Los_Angeles")


def _create(api, **body) -> Message:
    response = api.post("/api/messages", {"message": "hi", "recipientPhone": "+12025551234", **body}, format="json")
    assert response.status_code == 201, response.content
    return Message.objects.get(pk=response.json()["message"]["_id"])


def _state(message: Message) -> tuple[str, str, datetime | None]:
    message.refresh_from_db()
    return message.status, message.queued_reason, message.next_attempt_at


@responses.activate
def test_time_window_holds_until_it_opens(api, line) -> None:
    relay_accepts_everything()
    with time_machine.travel(T0, tick=False):
        message = _create(api, timezone="America/New_York", sendWindowStart="13:00", sendWindowEnd="17:00")
        assert send_message(message.pk) == "waiting"
        assert _state(message) == ("queued", "time_window", utc("2026-07-15T17:00:00"))
        doc = api.get(f"/api/messages/{message.pk}").json()["message"]
        assert doc["nextAttemptAt"] == "2026-07-15T17:00:00.000Z"
        assert "send window (13:00-17:00 America/New_York)" in doc["statusExplanation"]
    with time_machine.travel(utc("2026-07-15T16:59:00"), tick=False):
        assert send_message(message.pk) == "not_due"
    with time_machine.travel(utc("2026-07-15T17:00:00"), tick=False):
        assert send_message(message.pk) == "sent"


@responses.activate
def test_day_not_allowed_waits_for_the_next_allowed_day(api, line) -> None:
    relay_accepts_everything()
    with time_machine.travel(T0, tick=False):
        message = _create(api, timezone="America/New_York", allowedDaysOfWeek=["Saturday", 0])
        send_message(message.pk)
        assert _state(message) == ("queued", "day_not_allowed", utc("2026-07-18T04:00:00"))  # Sat 00:00 EDT


@responses.activate
def test_scheduled_until_due(api, line) -> None:
    relay_accepts_everything()
    with time_machine.travel(T0, tick=False):
        message = _create(api, scheduledDate="2026-07-15T18:30:00Z")
        assert message.status == "scheduled"
        assert send_message(message.pk) == "not_due"
        assert _state(message) == ("scheduled", "scheduled", utc("2026-07-15T18:30:00"))
    with time_machine.travel(utc("2026-07-15T18:30:00"), tick=False):
        assert send_message(message.pk) == "sent"


@responses.activate
def test_daily_total_resets_at_midnight_in_the_line_timezone(api, line) -> None:
    relay_accepts_everything()
    type(line).objects.filter(pk=line.pk).update(daily_total_limit=2)
    with time_machine.travel(T0, tick=False):
        messages = [_create(api, recipientPhone=f"+120255512{i:02d}") for i in range(3)]
        assert [send_message(m.pk) for m in messages] == ["sent", "sent", "waiting"]
        # Midnight in Los Angeles (PDT, UTC-7) is 07:00 UTC.
        assert _state(messages[2]) == ("queued", "line_daily_total", utc("2026-07-16T07:00:00"))
        lines = api.get("/api/lines/by-user").json()["lines"]
        assert lines[0]["usage"]["totalMessagesCount"] == 2
        assert lines[0]["nextSlotAt"]["anyMessage"] == "2026-07-16T07:00:00.000Z"
    with time_machine.travel(utc("2026-07-16T07:00:00"), tick=False):
        assert send_message(messages[2].pk) == "sent"


@responses.activate
def test_daily_new_conversations_limit_spares_follow_ups(api, line) -> None:
    relay_accepts_everything()
    type(line).objects.filter(pk=line.pk).update(daily_new_limit=1)
    with time_machine.travel(T0, tick=False):
        first = _create(api, recipientPhone="+12025551201", message="first")
        assert send_message(first.pk) == "sent"
        stranger = _create(api, recipientPhone="+12025551202", message="new contact")
        follow_up = _create(api, recipientPhone="+12025551201", message="follow-up")
        assert send_message(stranger.pk) == "waiting"
        assert _state(stranger) == ("queued", "line_daily_new", utc("2026-07-16T07:00:00"))
        assert send_message(follow_up.pk) == "sent"
        follow_up.refresh_from_db()
        assert follow_up.is_new_conversation is False


@responses.activate
def test_first_touch_per_hour_and_email_lines_are_exempt(api, workspace, line) -> None:
    relay_accepts_everything()
    type(line).objects.filter(pk=line.pk).update(hourly_first_touch_limit=1)
    with time_machine.travel(T0 + timedelta(minutes=20), tick=False):
        a = _create(api, recipientPhone="+12025551301")
        b = _create(api, recipientPhone="+12025551302")
        assert send_message(a.pk) == "sent"
        assert send_message(b.pk) == "waiting"
        assert _state(b) == ("queued", "line_first_touch_hour", utc("2026-07-15T16:00:00"))
    from lines.capacity import capacity_reserve

    email_line = LineFactory(workspace=workspace, device=None, channel_type="email", email="me@tuco.test", phone="",
                             hourly_first_touch_limit=1, contact_gap_seconds=0)
    with time_machine.travel(T0, tick=False):
        for i in range(3):
            capacity_reserve(line=email_line, device=None, address=f"x{i}@y.co", lead_id=None,
                             message_id=f"{i:024x}", now=T0)


@responses.activate
def test_device_gap_is_shared_by_every_line_on_the_device(api, workspace, device, line) -> None:
    relay_accepts_everything()
    Device.objects.filter(pk=device.pk).update(device_gap_seconds=30)
    second = LineFactory(workspace=workspace, device=device, contact_gap_seconds=0)
    with time_machine.travel(T0, tick=False):
        a = _create(api, recipientPhone="+12025551401", fromLineId=line.pk)
        b = _create(api, recipientPhone="+12025551402", fromLineId=second.pk)
        c = _create(api, recipientPhone="+12025551403", fromLineId=second.pk, message="third")
        assert send_message(a.pk) == "sent"
        assert send_message(b.pk) == "waiting"
        assert _state(b) == ("queued", "device_gap", T0 + timedelta(seconds=30))
        assert send_message(c.pk) == "waiting"
        # The third waits its turn in the device's queue: one message ahead of it.
        assert _state(c) == ("queued", "device_gap", T0 + timedelta(seconds=60))
        assert "this message's turn is at" in api.get(f"/api/messages/{c.pk}").json()["message"]["statusExplanation"]
    with time_machine.travel(T0 + timedelta(seconds=30), tick=False):
        assert send_message(b.pk) == "sent"
        # The send woke the next in line exactly when the gap ends.
        assert _state(c) == ("queued", "device_gap", T0 + timedelta(seconds=60))


@responses.activate
def test_contact_gap_applies_between_first_messages_only(api, workspace, line) -> None:
    relay_accepts_everything()
    type(line).objects.filter(pk=line.pk).update(contact_gap_seconds=45)
    with time_machine.travel(T0, tick=False):
        a = _create(api, recipientPhone="+12025551501", fromLineId=line.pk)
        assert send_message(a.pk) == "sent"
        stranger = _create(api, recipientPhone="+12025551502", fromLineId=line.pk)
        follow_up = _create(api, recipientPhone="+12025551501", fromLineId=line.pk, message="again")
        assert send_message(stranger.pk) == "waiting"
        assert _state(stranger) == ("queued", "contact_gap", T0 + timedelta(seconds=45))
        assert send_message(follow_up.pk) == "sent"  # not a first message: no contact gap
    with time_machine.travel(T0 + timedelta(seconds=45), tick=False):
        assert send_message(stranger.pk) == "sent"


@responses.activate
def test_per_line_fifo_the_older_due_message_goes_first(api, line) -> None:
    relay_accepts_everything()
    with time_machine.travel(T0, tick=False):
        older = _create(api, recipientPhone="+12025551601", message="older")
        newer = _create(api, recipientPhone="+12025551602", message="newer")
        assert send_message(newer.pk) == "waiting"
        assert _state(newer)[:2] == ("queued", "line_busy")
        assert _state(newer)[2] > T0 + timedelta(seconds=10)  # not polled: woken by the older one
        assert send_message(older.pk) == "sent"
        # Claiming the older message woke the newer one at once, with a dispatch on commit.
        assert _state(newer)[2] == T0
        assert send_message(newer.pk) == "sent"


@responses.activate
def test_line_busy_is_woken_when_the_older_message_starts_waiting(api, line) -> None:
    relay_accepts_everything()
    with time_machine.travel(T0, tick=False):
        # Due now, but its window only opens tonight: it holds the line until its own check runs.
        older = _create(api, recipientPhone="+12025551611", message="older", timezone="UTC",
                        sendWindowStart="23:00", sendWindowEnd="23:30")
        newer = _create(api, recipientPhone="+12025551612", message="newer")
        assert send_message(newer.pk) == "waiting"
        assert _state(newer)[:2] == ("queued", "line_busy")
        assert send_message(older.pk) == "waiting"
        assert _state(older)[1] == "time_window"
        assert _state(newer)[2] == T0  # the line is free again: the newer one goes now
        assert send_message(newer.pk) == "sent"


@responses.activate
def test_explain_message_command(api, line) -> None:
    relay_accepts_everything()
    with time_machine.travel(T0, tick=False):
        message = _create(api, timezone="America/New_York", sendWindowStart="13:00", sendWindowEnd="17:00")
        send_message(message.pk)
        out = StringIO()
        call_command("explain_message", message.pk, "--json", stdout=out)
    explained = json.loads(out.getvalue())
    assert explained["status"] == "queued" and explained["queuedReason"] == "time_window"
    assert explained["nextAttemptAt"] == "2026-07-15T17:00:00.000Z"
    assert "13:00-17:00" in explained["explanation"]


def test_spec_log_events_carry_the_context(api, line, caplog) -> None:
    Device.objects.filter(pk=line.device_id).update(device_gap_seconds=30, last_send_at=T0)
    with time_machine.travel(T0 + timedelta(seconds=5), tick=False):
        message = _create(api, fromLineId=line.pk, correlationId="corr-gap")
        with caplog.at_level("INFO"):
            send_message(message.pk)
    events = [r.msg for r in caplog.records if isinstance(r.msg, dict)]
    gap = next(e for e in events if e.get("event") == "individual.message.device_gap_not_met")
    assert gap["messageId"] == message.pk and gap["lineId"] == line.pk and gap["reason"] == "device_gap"
    assert gap["correlationId"] == "corr-gap" and gap["nextAttemptAt"].startswith("2026-07-15T15:00:30")


def test_capacity_reservation_events(api, line, caplog) -> None:
    type(line).objects.filter(pk=line.pk).update(daily_total_limit=0)
    with time_machine.travel(T0, tick=False):
        message = _create(api, fromLineId=line.pk, correlationId="corr-cap")
        with caplog.at_level("INFO"):
            send_message(message.pk)
    events = {r.msg.get("event"): r.msg for r in caplog.records if isinstance(r.msg, dict)}
    assert events["cap.reservation.entered"]["lineId"] == line.pk
    denied = events["cap.reservation.denied"]
    assert denied["reason"] == "line_daily_total" and denied["correlationId"] == "corr-cap"
    assert events["message.queued_limit"]["messageId"] == message.pk


@responses.activate
def test_line_busy_is_not_stranded_when_the_older_one_goes_between_look_and_wait(api, line, monkeypatch) -> None:
    """The newer message looked while the older one was due; the older one was claimed (finding nobody to
    wake) before the newer one's wait was written. The newer one looks again after writing it."""
    import messaging.send.dispatcher as sending

    relay_accepts_everything()
    with time_machine.travel(T0, tick=False):
        older = _create(api, recipientPhone="+12025551621", message="older")
        newer = _create(api, recipientPhone="+12025551622", message="newer")
        real_wait = sending.wait

        def older_goes_first(message, block, **kw):
            if message.pk == newer.pk and block.reason == "line_busy":
                assert send_message(older.pk) == "sent"  # claimed now: its wake-up finds nobody waiting
            return real_wait(message, block, **kw)

        monkeypatch.setattr(sending, "wait", older_goes_first)
        assert send_message(newer.pk) == "waiting"
        assert _state(newer)[:2] == ("queued", "line_busy")
        assert _state(newer)[2] == T0  # woken by its own second look, not left for the 30 s safety net


@responses.activate
def test_cancelling_the_older_message_wakes_the_line(api, line) -> None:
    relay_accepts_everything()
    with time_machine.travel(T0, tick=False):
        older = _create(api, recipientPhone="+12025551631", message="older")
        newer = _create(api, recipientPhone="+12025551632", message="newer")
        assert send_message(newer.pk) == "waiting"
        assert _state(newer)[2] > T0 + timedelta(seconds=10)
        assert api.post(f"/api/messages/{older.pk}/cancel").status_code == 200
        assert _state(newer)[2] == T0


@responses.activate
def test_an_older_message_that_moves_to_another_line_wakes_its_old_one(api, workspace, line, device,
                                                                        monkeypatch) -> None:
    import messaging.send.claim as claim

    relay_accepts_everything()
    other = LineFactory(workspace=workspace, device=device, contact_gap_seconds=0)
    with time_machine.travel(T0, tick=False):
        older = _create(api, recipientPhone="+12025551641", message="older", fromLineId=line.pk)
        Message.objects.filter(pk=older.pk).update(line_pinned=False)
        newer = _create(api, recipientPhone="+12025551642", message="newer", fromLineId=line.pk)
        assert send_message(newer.pk) == "waiting" and _state(newer)[2] > T0 + timedelta(seconds=10)
        real = claim.candidate_lines
        monkeypatch.setattr(claim, "candidate_lines",
                            lambda m: iter([other]) if m.pk == older.pk else real(m))  # e.g. its line was full
        assert send_message(older.pk) == "sent"
        assert Message.objects.get(pk=older.pk).line_id == other.pk
        assert _state(newer)[2] == T0  # its old line is free for the newer message at once
