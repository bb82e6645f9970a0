"""Two beats started by mistake cannot double-send (docs/deployment.md "Beat: exactly one").

Two sweeps run at the same moment over many due messages (threads, each with its own PostgreSQL
connection), each handing what it leased straight to dispatches of its own, while a relay (`responses`)
counts the sends per message. The due sweep leases rows with `FOR UPDATE SKIP LOCKED` and an enqueue
lease (`state.claim_due_batch`), so the sweeps never hand out the same row; and even a duplicate wake-up
(a lease that expired, a second beat with a skewed clock) cannot send twice, because `→ sending` is one
guarded UPDATE (`claim_for_send`).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import responses
from django.db import connection
from django.utils import timezone

from messaging.models import Message, MessageEvent, Status
from messaging.send import state, wake, worker
from messaging.send.dispatcher import send_message
from tests.factories import DeviceFactory, LineFactory
from tests.messaging.relay_mocks import relay_accepts_everything

MESSAGES = 120
RELAYS = [f"http://relay-{n}.beat.test:8765" for n in range(3)]  # three Macs, one line each
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def due_messages(api: Any, workspace: Any, settings: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """MESSAGES committed messages whose enqueue was lost (the broker never got them): only a sweep finds them."""
    settings.TUCO_RATE_LIMITS_ENABLED = False
    settings.TUCO_SWEEP_BATCH_SIZE = 16  # many small batches, so the two sweeps interleave
    monkeypatch.setattr(wake, "publish", lambda *args, **kwargs: None)  # lost on the way to the broker
    for n in range(3):
        device = DeviceFactory(workspace=workspace, relay_url=RELAYS[n], relay_password="pw", device_gap_seconds=0)
        LineFactory(workspace=workspace, device=device, phone=f"+1415555{n:04d}", daily_total_limit=1000,
                    daily_new_limit=1000, hourly_first_touch_limit=1000)
    ids = []
    for n in range(MESSAGES):
        response = api.post("/api/messages", {"message": f"hello {n}", "recipientPhone": f"+1202555{n:04d}"},
                            format="json")
        assert response.status_code == 201, response.content
        ids.append(response.json()["message"]["_id"])
    return ids


def run_threads(targets: list[Callable[[], None]]) -> list[BaseException]:
    barrier = threading.Barrier(len(targets))
    errors: list[BaseException] = []

    def run(target: Callable[[], None]) -> None:
        try:
            barrier.wait()
            target()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return errors


def relays_accept_everything() -> Callable[[], Counter[str]]:
    """The three relays accept every send; the returned function counts the sends per message id."""
    ledgers = [relay_accepts_everything(base) for base in RELAYS]
    # tempGuid is "tuco-<messageId>-<attempt>"
    return lambda: Counter(row["tempGuid"].split("-")[1] for rows in ledgers for row in rows)


@responses.activate
def test_two_beats_sweeping_at_once_send_every_message_exactly_once(due_messages: list[str],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    sends = relays_accept_everything()
    claimed: dict[str, list[str]] = {"beat-1": [], "beat-2": []}  # what each beat's sweep leased
    queues: dict[str, list[str]] = {"beat-1": [], "beat-2": []}  # what it published to its own workers
    beat_of_thread: dict[int, str] = {}
    real_claim = state.claim_due_batch

    def claim(**kwargs: Any) -> list[str]:
        ids = real_claim(**kwargs)
        claimed[beat_of_thread[threading.get_ident()]].extend(ids)
        return ids

    monkeypatch.setattr(state, "claim_due_batch", claim)
    monkeypatch.setattr(wake, "publish", lambda task, message_id, **_: queues[beat_of_thread[threading.get_ident()]]
                        .append(message_id))
    later = timezone.now() + timedelta(seconds=61)  # past the enqueue lease of the lost publishes

    def beat(name: str) -> Callable[[], None]:
        def run() -> None:
            beat_of_thread[threading.get_ident()] = name
            while worker.sweep_due_messages(now=later, max_batches=1):
                while queues[name]:  # its worker dispatches while the other beat keeps sweeping
                    send_message(queues[name].pop(0))
        return run

    assert run_threads([beat("beat-1"), beat("beat-2")]) == []
    leases = Counter(claimed["beat-1"] + claimed["beat-2"])
    assert set(leases) == set(due_messages)  # every due row was leased, by one beat or the other
    # ... and never by both for one wait: a row comes due again only when its dispatch put it back in the
    # queue (`queued`, e.g. `line_busy` while another send held the line's slot), and not otherwise.
    requeued = Counter(MessageEvent.objects.filter(message_id__in=due_messages, to_status=Status.QUEUED)
                       .values_list("message_id", flat=True))
    assert {m: n for m, n in leases.items() if n > 1 + requeued[m]} == {}
    assert claimed["beat-1"] and claimed["beat-2"]  # really concurrent: both beats got work
    counts = sends()
    assert set(counts) == set(due_messages) and set(counts.values()) == {1}
    assert set(Message.objects.filter(pk__in=due_messages).values_list("status", flat=True)) == {Status.SENT}


@responses.activate
def test_a_duplicate_wake_up_of_every_message_still_sends_each_once(due_messages: list[str]) -> None:
    """Both beats' workers dispatch every message (a lease broken by clock skew, a re-enqueue), in opposite
    orders, four threads at once: the guarded claim lets exactly one send through per message."""
    sends = relays_accept_everything()
    forward, backward = list(due_messages), list(reversed(due_messages))
    outcomes: list[str] = []

    def dispatch_all(order: list[str]) -> Callable[[], None]:
        return lambda: outcomes.extend(send_message(message_id) for message_id in order)

    assert run_threads([dispatch_all(forward), dispatch_all(backward), dispatch_all(forward[::2] + forward[1::2]),
                        dispatch_all(backward[::2] + backward[1::2])]) == []
    counts = sends()
    assert set(counts) == set(due_messages) and set(counts.values()) == {1}
    assert Counter(outcomes)["sent"] == MESSAGES  # the other three wake-ups of each found it taken
    assert set(Message.objects.filter(pk__in=due_messages).values_list("status", flat=True)) == {Status.SENT}
