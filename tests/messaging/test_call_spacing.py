"""The gaps hold at the relay call, not only at the claim (lines.capacity.relay_call_slot,
messaging.send.pacing.wait_for_call_slot).

Found by bench/scale_out.py on a loaded machine: two sends claimed a full gap apart reached the device 3 ms
apart, because the first one's claim-to-call time (attachment fetch, a busy worker) was longer."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
import responses
from django.utils import timezone

from lines.capacity import relay_call_slot
from lines.models import Device, Line
from messaging.models import Message, SendAttempt
from messaging.send.channels.imessage import IMessageChannel
from messaging.send.claim import Claimed, claim_for_send
from messaging.send.outcome import Result, individual_policy
from messaging.send.outcomes import settle
from tests.factories import DeviceFactory, LineFactory
from tests.messaging.relay_mocks import RELAY, bb_message

pytestmark = pytest.mark.django_db


@pytest.fixture
def paced_line(workspace):
    device = DeviceFactory(workspace=workspace, relay_url=RELAY, relay_password="pw", device_gap_seconds=1)
    return LineFactory(workspace=workspace, device=device, phone="+14155550100", contact_gap_seconds=0)


def _record_relay_calls(answer_after: float = 0.0) -> list[float]:
    """Every text send succeeds (answered `answer_after` s after the call); returns the monotonic times the
    relay was called at."""
    called: list[float] = []

    def callback(request):
        called.append(time.monotonic())
        time.sleep(answer_after)
        body = json.loads(request.body)
        row = bb_message(guid=f"G-{len(called)}", text=body["message"], address=body["chatGuid"].split(";-;")[1])
        return 200, {}, json.dumps({"status": 200, "message": "Message sent!", "data": row})

    responses.add_callback(responses.POST, f"{RELAY}/api/v1/message/text", callback=callback,
                           content_type="application/json")
    return called


def _create(api, phone: str) -> Message:
    response = api.post("/api/messages", {"message": "hi", "recipientPhone": phone}, format="json")
    assert response.status_code == 201, response.content
    return Message.objects.get(pk=response.json()["message"]["_id"])


def _claim(message: Message) -> Claimed:
    claimed = claim_for_send(Message.objects.get(pk=message.pk), timezone.now(), channel="relay", uses_line=True)
    assert isinstance(claimed, Claimed), claimed
    return claimed


def test_the_slot_is_taken_once_per_gap_and_names_when_it_passes(workspace) -> None:
    device = DeviceFactory(workspace=workspace, device_gap_seconds=30)
    line = LineFactory(workspace=workspace, device=device, contact_gap_seconds=45)
    t0 = timezone.now()
    assert relay_call_slot(line=line, device=device, new=True, now=t0) is None
    assert relay_call_slot(line=line, device=device, new=False, now=t0 + timedelta(seconds=10)) \
        == ("device_gap", t0 + timedelta(seconds=30))
    # The device gap passed, the contact gap did not: a new conversation waits for the line, and the device
    # stamp is not taken beside it (else the retry would find its own stamp in the way).
    assert relay_call_slot(line=line, device=device, new=True, now=t0 + timedelta(seconds=31)) \
        == ("contact_gap", t0 + timedelta(seconds=45))
    assert Device.objects.get(pk=device.pk).relay_called_at == t0
    assert relay_call_slot(line=line, device=device, new=False, now=t0 + timedelta(seconds=31)) is None
    assert Line.objects.get(pk=line.pk).first_touch_called_at == t0


@pytest.mark.django_db(transaction=True)  # it sleeps, which it must never do inside a transaction
@responses.activate
def test_a_send_claimed_a_gap_later_still_reaches_the_device_a_gap_after_a_late_one(api, paced_line) -> None:
    called = _record_relay_calls()
    first, second = _create(api, "+12025550201"), _create(api, "+12025550202")
    first_claim = _claim(first)
    time.sleep(1.05)  # the claim's device gap (1 s) has passed
    second_claim = _claim(second)
    # The first send reaches the relay only now (it was slow); the second follows at once.
    assert IMessageChannel().send(first_claim).result == Result.SENT
    assert IMessageChannel().send(second_claim).result == Result.SENT
    assert len(called) == 2
    assert called[1] - called[0] >= 0.99, f"the device saw two sends {called[1] - called[0]:.3f}s apart"


@pytest.mark.django_db(transaction=True)
@responses.activate
def test_a_hold_longer_than_the_inline_wait_queues_the_message_without_spending_an_attempt(api, paced_line,
                                                                                           settings) -> None:
    settings.TUCO_PACING_INLINE_WAIT_SECONDS = 0.2
    called = _record_relay_calls()
    first, second = _create(api, "+12025550211"), _create(api, "+12025550212")
    first_claim = _claim(first)
    time.sleep(1.05)
    second_claim = _claim(second)
    assert IMessageChannel().send(first_claim).result == Result.SENT
    outcome = IMessageChannel().send(second_claim)
    assert outcome.result == Result.WAIT and outcome.block.reason == "device_gap"
    assert len(called) == 1  # nothing reached the relay for the second message
    assert settle(second_claim, outcome, channel=IMessageChannel(), policy=individual_policy(), inline=False) \
        == "waiting"
    second.refresh_from_db()
    assert (second.status, second.queued_reason, second.attempt_count) == ("queued", "device_gap", 0)
    assert second.next_attempt_at >= timezone.now() + timedelta(seconds=0.5)
    assert SendAttempt.objects.get(message=second).outcome == "not_sent"


@pytest.mark.django_db(transaction=True)
@responses.activate
def test_the_gap_counts_from_the_relays_answer(api, paced_line) -> None:
    """A device records a send somewhere between the call and its answer: the next call waits a gap after
    the answer, so a slow relay cannot squeeze two sends closer than the gap on the device."""
    called = _record_relay_calls(answer_after=0.4)
    first, second = _create(api, "+12025550221"), _create(api, "+12025550222")
    first_claim = _claim(first)
    time.sleep(1.05)
    second_claim = _claim(second)
    assert IMessageChannel().send(first_claim).result == Result.SENT  # called at t, answered at t + 0.4
    assert IMessageChannel().send(second_claim).result == Result.SENT
    assert called[1] - called[0] >= 1.39, f"the second call came {called[1] - called[0]:.3f}s after the first"
