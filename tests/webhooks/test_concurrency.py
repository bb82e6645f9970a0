"""Claims and sweeps under real concurrency: threads with their own database connections."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction

from tests.factories import WorkspaceFactory
from tests.webhooks.conftest import events_of, make_endpoint, mark_sent, sending_message
from webhooks.delivery import claim_event, deliver_due, deliver_event
from webhooks.models import WebhookDelivery, WebhookEvent

pytestmark = pytest.mark.django_db(transaction=True)


def run_together(target: Callable[[], Any], workers: int) -> list[Any]:
    """Start `workers` threads that call `target` at the same moment; return their results."""
    barrier = threading.Barrier(workers)
    results: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run() -> None:
        try:
            barrier.wait()
            value = target()
            with lock:
                results.append(value)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    return results


def test_two_workers_never_deliver_the_same_event(receiver) -> None:
    workspace = WorkspaceFactory()
    make_endpoint(workspace, receiver.url)
    receiver.delay = 0.2  # keep the winner's HTTP call open while the other tries
    events = [events_of(mark_sent(sending_message(workspace)))[0] for _ in range(5)]
    for event in events:
        outcomes = run_together(lambda pk=event.pk: deliver_event(pk), workers=2)
        assert sorted(outcomes) == ["delivered", "skipped"]
    assert len(receiver.requests) == 5
    assert sorted(r.headers["X-Tuco-Event-Id"] for r in receiver.requests) == sorted(e.event_id for e in events)
    assert WebhookDelivery.objects.count() == 5


def test_only_one_of_many_claims_wins(receiver) -> None:
    workspace = WorkspaceFactory()
    make_endpoint(workspace, receiver.url)
    (event,) = events_of(mark_sent(sending_message(workspace)))
    results = run_together(lambda: claim_event(event.pk), workers=8)
    assert results.count(True) == 1
    assert WebhookEvent.objects.get(pk=event.pk).attempt_count == 1


def test_sweeps_skip_rows_another_sweep_holds(receiver, enqueued) -> None:
    workspace = WorkspaceFactory()
    make_endpoint(workspace, receiver.url)
    events = [events_of(mark_sent(sending_message(workspace)))[0] for _ in range(6)]
    WebhookEvent.objects.update(enqueued_at=None)  # as if every task was lost
    enqueued.clear()
    held, free = events[0], events[1:]
    handed: list[int] = []
    with transaction.atomic():
        list(WebhookEvent.objects.select_for_update().filter(pk=held.pk))  # another sweep is on it
        run_together(lambda: handed.append(deliver_due()) or True, workers=1)
    assert handed == [5]
    assert sorted(pk for pk, _ in enqueued) == sorted(e.pk for e in free)


def test_concurrent_sweeps_hand_out_each_event_once(receiver, enqueued) -> None:
    workspace = WorkspaceFactory()
    make_endpoint(workspace, receiver.url)
    events = [events_of(mark_sent(sending_message(workspace)))[0] for _ in range(30)]
    WebhookEvent.objects.update(enqueued_at=None)
    enqueued.clear()
    counts = run_together(deliver_due, workers=3)
    assert sum(counts) == 30
    assert sorted(pk for pk, _ in enqueued) == sorted(e.pk for e in events)
