"""A day in the life of three lines on two Macs, on a fake clock.

1,000 messages to 400 recipients (each recipient gets 1–5, in order) go
through the real dispatcher — gates, reservations, parking, FIFO — exactly as
the sweep would drive it (due messages, oldest first). The relay accepts
everything instantly. Then we check what a carrier or Apple would see: no gap
or limit ever violated, every conversation in order on one line, per-line FIFO,
and no wasted slot: the whole run takes what the device gaps allow, within one
gap.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
import responses
import time_machine

from lines.models import Device
from messaging.models import CLAIMABLE, Message
from messaging.send.dispatcher import send_message
from messaging.send_input import SendRequest
from messaging.services.create import SendContext, message_create
from tests.factories import DeviceFactory, LineFactory, WorkspaceFactory
from tests.messaging.relay_mocks import relay_accepts_everything

DEVICE_GAP, CONTACT_GAP = 30, 45
T0 = datetime(2026, 7, 15, 8, 0, tzinfo=UTC)


@pytest.mark.django_db
@responses.activate
def test_three_lines_two_devices_thousand_messages() -> None:
    workspace = WorkspaceFactory()
    mac_a = DeviceFactory(workspace=workspace, relay_url="http://mac-a.test", device_gap_seconds=DEVICE_GAP)
    mac_b = DeviceFactory(workspace=workspace, relay_url="http://mac-b.test", device_gap_seconds=DEVICE_GAP)
    limits = {"contact_gap_seconds": CONTACT_GAP, "daily_total_limit": 420, "daily_new_limit": 160,
              "hourly_first_touch_limit": 60}
    lines = [LineFactory(workspace=workspace, device=mac_a, **limits),
             LineFactory(workspace=workspace, device=mac_a, **limits),
             LineFactory(workspace=workspace, device=mac_b, **limits)]
    sent_a = relay_accepts_everything("http://mac-a.test")
    sent_b = relay_accepts_everything("http://mac-b.test")

    rng = random.Random(7)
    recipients = [f"+1202555{1000 + i:04d}" for i in range(400)]
    plan = recipients + [rng.choice(recipients) for _ in range(600)]  # everyone once, then follow-ups
    rng.shuffle(plan)
    with time_machine.travel(T0, tick=False) as clock:
        for i, to in enumerate(plan):
            message_create(workspace=workspace, context=SendContext(correlation_id=f"sim-{i}"),
                           request=SendRequest(body=f"message {i} to {to}", message_type="imessage",
                                               recipient_phone=to))
        now = T0
        evaluations = 0
        while True:
            due = list(Message.objects.filter(status__in=CLAIMABLE, next_attempt_at__lte=now)
                       .order_by("created_at", "id").values_list("id", flat=True))
            for message_id in due:
                send_message(message_id)
                evaluations += 1
            upcoming = (Message.objects.filter(status__in=CLAIMABLE).order_by("next_attempt_at")
                        .values_list("next_attempt_at", flat=True).first())
            if upcoming is None:
                break
            now = max(upcoming, now + timedelta(milliseconds=1)) if not due else max(upcoming, now)
            clock.move_to(now)

    messages = list(Message.objects.filter(workspace=workspace).select_related("line").order_by("created_at", "id"))
    assert {m.status for m in messages} == {"sent"}
    assert len(sent_a) + len(sent_b) == 1000  # every message exactly once
    assert len({s["tempGuid"] for s in sent_a + sent_b}) == 1000

    # Device gaps: consecutive sends on one Mac are never closer than the gap.
    by_device: dict[str, list[datetime]] = defaultdict(list)
    for m in messages:
        by_device[m.line.device_id].append(m.sent_at)
    for times in by_device.values():
        times.sort()
        assert min(b - a for a, b in zip(times, times[1:], strict=False)) >= timedelta(seconds=DEVICE_GAP)

    # Contact gaps and first-touch limits, per line.
    for line in lines:
        firsts = sorted(m.sent_at for m in messages if m.line_id == line.pk and m.is_new_conversation)
        assert min(b - a for a, b in zip(firsts, firsts[1:], strict=False)) >= timedelta(seconds=CONTACT_GAP)
        per_hour: dict[datetime, int] = defaultdict(int)
        per_day: dict[object, int] = defaultdict(int)
        new_per_day: dict[object, int] = defaultdict(int)
        for m in messages:
            if m.line_id != line.pk:
                continue
            per_day[m.sent_at.date()] += 1
            if m.is_new_conversation:
                per_hour[m.sent_at.replace(minute=0, second=0, microsecond=0)] += 1
                new_per_day[m.sent_at.date()] += 1
        assert max(per_hour.values()) <= limits["hourly_first_touch_limit"]
        assert max(per_day.values()) <= limits["daily_total_limit"]
        assert max(new_per_day.values()) <= limits["daily_new_limit"]

    # Every conversation: one line, one first touch, messages in the order they were created.
    by_thread: dict[str, list[Message]] = defaultdict(list)
    for m in messages:
        by_thread[m.thread_id].append(m)
    assert len(by_thread) == 400
    for thread in by_thread.values():
        assert len({m.line_id for m in thread}) == 1
        assert [m.is_new_conversation for m in thread] == [True] + [False] * (len(thread) - 1)
        assert [m.sent_at for m in thread] == sorted(m.sent_at for m in thread)

    # No wasted slot: the busiest Mac sent back to back, so the run took what its gap allows (within one gap).
    busiest = max(len(times) for times in by_device.values())
    elapsed = max(m.sent_at for m in messages) - min(m.sent_at for m in messages)
    ideal = timedelta(seconds=(busiest - 1) * DEVICE_GAP)
    assert ideal <= elapsed <= ideal + timedelta(seconds=DEVICE_GAP), (elapsed, ideal)
    # Parking keeps the dispatcher from a thundering herd: a few evaluations per message, not hundreds.
    assert evaluations < 6 * 1000, evaluations
    assert Device.objects.get(pk=mac_a.pk).last_send_at is not None
