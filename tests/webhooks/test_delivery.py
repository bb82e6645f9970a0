"""Delivery: signed POSTs, retries with a stable event id, backoff, order, auto-pause, SSRF, the sweep."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone

from tests.webhooks.conftest import (
    events_of,
    make_due,
    make_endpoint,
    mark_delivered,
    mark_sent,
    sending_message,
)
from tuco.timefmt import parse_iso
from webhooks import policy
from webhooks.delivery import deliver_due, deliver_event, release_stuck
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.tasks import deliver_due_webhooks, deliver_webhook_event

pytestmark = pytest.mark.django_db

Status = WebhookEvent.Status


def receiver_verifies(secret: str, raw_body: bytes, signature: str) -> bool:
    """What an integrator writes, knowing only the secret."""
    expected = hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def test_a_receiver_verifies_the_signature_with_only_the_secret(workspace, endpoint, receiver) -> None:
    message = mark_sent(sending_message(workspace))
    (event,) = events_of(message)
    assert deliver_webhook_event.apply(args=[event.pk]).get() == "delivered"
    (got,) = receiver.requests
    assert receiver_verifies(endpoint.secret, got.body, got.headers["X-Tuco-Signature"])
    assert not receiver_verifies("whsec_wrong", got.body, got.headers["X-Tuco-Signature"])
    assert got.headers["X-Tuco-Event"] == "message.sent"
    assert got.headers["X-Tuco-Event-Id"] == event.event_id == got.json["eventId"]
    assert got.headers["Content-Type"] == "application/json"
    assert parse_iso(got.headers["X-Tuco-Timestamp"]) is not None
    assert got.json["messageId"] == message.pk
    event.refresh_from_db()
    assert event.status == Status.DELIVERED and event.delivered_at is not None
    (log,) = WebhookDelivery.objects.filter(event=event)
    assert (log.attempt, log.success, log.status_code) == (1, True, 200)
    assert log.latency_ms is not None and '"ok": true' in log.response_snippet
    endpoint.refresh_from_db()
    assert endpoint.last_success_at is not None and endpoint.failure_count == 0


def test_a_retry_resends_the_same_event_id_and_body(workspace, endpoint, receiver, enqueued,
                                                    django_capture_on_commit_callbacks) -> None:
    receiver.respond_with(500, 503)
    message = mark_sent(sending_message(workspace))
    (event,) = events_of(message)
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver_event(event.pk) == "failed"
    event.refresh_from_db()
    assert event.status == Status.FAILED and event.last_status_code == 500 and event.last_error == "HTTP 500"
    # The first retry waits the base delay, on a Celery countdown (short wait).
    assert (event.next_attempt_at - timezone.now()).total_seconds() == pytest.approx(30, abs=2)
    assert enqueued[-1] == (event.pk, 30.0)
    assert deliver_event(event.pk) == "skipped"  # not due yet
    make_due(event)
    assert deliver_event(event.pk) == "failed"
    make_due(event)
    assert deliver_event(event.pk) == "delivered"
    assert len(receiver.requests) == 3
    assert {r.headers["X-Tuco-Event-Id"] for r in receiver.requests} == {event.event_id}
    assert {r.body for r in receiver.requests} == {event.body.encode()}
    assert list(WebhookDelivery.objects.filter(event=event).order_by("attempt").values_list(
        "attempt", "status_code")) == [(1, 500), (2, 503), (3, 200)]


def test_backoff_schedule_covers_at_least_24_hours() -> None:
    delays = policy.retry_delays()
    assert delays[0] == 30 and delays[1] == 60 and delays[2] == 120
    assert sum(delays) >= 24 * 3600
    assert sum(delays[:-1]) < 24 * 3600  # and stops once it does
    assert max(delays) <= policy.MAX_DELAY_SECONDS
    assert policy.max_attempts() == len(delays) + 1 == 14
    with override_settings(TUCO_WEBHOOK_RETRY_BASE_SECONDS=5):
        assert policy.retry_delays()[0] == 5 and sum(policy.retry_delays()) >= 24 * 3600


def test_an_always_failing_receiver_gets_every_try_then_the_event_is_dead(workspace, endpoint, receiver, enqueued,
                                                                          django_capture_on_commit_callbacks) -> None:
    receiver.default_status = 500
    message = mark_sent(sending_message(workspace))
    (event,) = events_of(message)
    start = timezone.now()
    waits = []
    with time_machine.travel(start, tick=False) as clock:
        for _ in range(policy.max_attempts()):
            with django_capture_on_commit_callbacks(execute=True):
                outcome = deliver_event(event.pk)
            event.refresh_from_db()
            if outcome == "dead":
                break
            assert outcome == "failed"
            waits.append((event.next_attempt_at - timezone.now()).total_seconds())
            clock.move_to(event.next_attempt_at)
    assert outcome == "dead" and event.status == Status.DEAD and event.next_attempt_at is None
    assert waits == policy.retry_delays()
    assert sum(waits) >= 24 * 3600
    assert len(receiver.requests) == policy.max_attempts() == event.attempt_count
    assert {r.headers["X-Tuco-Event-Id"] for r in receiver.requests} == {event.event_id}
    # Waits over 5 minutes are not Celery countdowns: they are left to the beat sweep.
    assert [c for _, c in enqueued if c] == [w for w in waits if w <= 300] == [30, 60, 120, 240]


def test_a_later_event_of_a_message_waits_for_the_earlier_one(workspace, endpoint, receiver, enqueued,
                                                              django_capture_on_commit_callbacks) -> None:
    receiver.respond_with(500)  # the first try of message.sent fails
    message = mark_sent(sending_message(workspace))
    mark_delivered(message)
    sent, delivered = events_of(message)
    assert deliver_event(sent.pk) == "failed"
    # message.delivered is due but must not overtake message.sent while it is being retried.
    assert deliver_event(delivered.pk) == "skipped"
    assert deliver_due() == 0  # sent is not due yet, delivered is blocked
    make_due(sent, task_lost=True)
    enqueued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver_due() == 1  # the sweep hands out only the earlier event
    assert [pk for pk, _ in enqueued] == [sent.pk]
    enqueued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver_event(sent.pk) == "delivered"
    # Its completion wakes the next event of the message at once.
    assert [pk for pk, _ in enqueued] == [delivered.pk]
    assert deliver_event(delivered.pk) == "delivered"
    assert [r.headers["X-Tuco-Event"] for r in receiver.requests] == [
        "message.sent", "message.sent", "message.delivered"]


def test_order_is_per_message_and_endpoint(workspace, endpoint, receiver) -> None:
    receiver.respond_with(500)
    first = mark_sent(sending_message(workspace))
    other = mark_sent(sending_message(workspace))
    assert deliver_event(events_of(first)[0].pk) == "failed"
    # Another message is not held back by this one's retries.
    assert deliver_event(events_of(other)[0].pk) == "delivered"


def test_a_dead_event_does_not_block_the_next_one_forever(workspace, endpoint, receiver) -> None:
    message = mark_sent(sending_message(workspace))
    mark_delivered(message)
    sent, delivered = events_of(message)
    WebhookEvent.objects.filter(pk=sent.pk).update(status=Status.DEAD)
    assert deliver_event(delivered.pk) == "delivered"


def test_endpoint_is_paused_after_20_consecutive_failures_and_resumes(workspace, endpoint, receiver, api,
                                                                      enqueued,
                                                                      django_capture_on_commit_callbacks) -> None:
    assert policy.pause_after_failures() == 20
    receiver.default_status = 500
    events = [events_of(mark_sent(sending_message(workspace)))[0] for _ in range(20)]
    for event in events[:19]:
        assert deliver_event(event.pk) == "failed"
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.failure_count == 19
    assert deliver_event(events[19].pk) == "failed"
    endpoint.refresh_from_db()
    assert not endpoint.is_active and endpoint.paused_by == "failures"
    assert endpoint.paused_reason.startswith("Paused after 20 consecutive failed deliveries (last: HTTP 500)")
    assert api.get(f"/api/webhooks/{endpoint.pk}").json()["pausedReason"] == endpoint.paused_reason

    # While paused: new events are still recorded, nothing is delivered or lost.
    later = events_of(mark_sent(sending_message(workspace)))[0]
    make_due(*events)
    assert deliver_event(later.pk) == "skipped" and deliver_event(events[0].pk) == "skipped"
    assert deliver_due() == 0
    assert len(receiver.requests) == 20

    receiver.default_status = 200
    response = api.patch(f"/api/webhooks/{endpoint.pk}", {"isActive": True}, format="json")
    assert response.status_code == 200 and response.json()["webhook"]["isActive"] is True
    assert response.json()["webhook"]["failureCount"] == 0 and response.json()["webhook"]["pausedReason"] is None
    enqueued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver_due() == 21
    for pk, _ in enqueued:
        assert deliver_webhook_event.apply(args=[pk]).get() == "delivered"
    assert WebhookEvent.objects.filter(endpoint=endpoint, status=Status.DELIVERED).count() == 21


@override_settings(TUCO_WEBHOOK_PAUSE_AFTER_FAILURES=3)
def test_the_pause_threshold_is_a_setting(workspace, endpoint, receiver) -> None:
    receiver.default_status = 502
    for _ in range(3):
        deliver_event(events_of(mark_sent(sending_message(workspace)))[0].pk)
    endpoint.refresh_from_db()
    assert not endpoint.is_active


def test_410_gone_pauses_at_once(workspace, endpoint, receiver) -> None:
    receiver.respond_with(410)
    assert deliver_event(events_of(mark_sent(sending_message(workspace)))[0].pk) == "failed"
    endpoint.refresh_from_db()
    assert not endpoint.is_active and "410" in endpoint.paused_reason


def test_a_success_resets_the_consecutive_failure_count(workspace, endpoint, receiver) -> None:
    receiver.respond_with(500, 500, 200)
    for _ in range(3):
        deliver_event(events_of(mark_sent(sending_message(workspace)))[0].pk)
    endpoint.refresh_from_db()
    assert endpoint.failure_count == 0 and endpoint.last_failure_at is not None


@override_settings(TUCO_ALLOW_PRIVATE_URLS=False)
def test_a_host_resolving_to_loopback_is_blocked_at_delivery(workspace, receiver) -> None:
    # Accepted earlier (or DNS changed since): the guarded session still refuses the real peer address.
    url = receiver.url.replace("127.0.0.1", "localhost")
    endpoint = make_endpoint(workspace, url)
    (event,) = events_of(mark_sent(sending_message(workspace)))
    assert deliver_event(event.pk) == "failed"
    assert receiver.requests == []
    (log,) = WebhookDelivery.objects.filter(event=event)
    assert log.error.startswith("Blocked: refused to talk to private address")
    assert log.status_code is None and log.url == url
    assert endpoint.outbox.get().last_error.startswith("Blocked")


def test_redirects_are_not_followed(workspace, endpoint, receiver) -> None:
    receiver.respond_with(302)
    (event,) = events_of(mark_sent(sending_message(workspace)))
    assert deliver_event(event.pk) == "failed"
    assert len(receiver.requests) == 1


def test_a_timeout_is_a_failed_try(workspace, endpoint, receiver, monkeypatch) -> None:
    monkeypatch.setattr(policy, "REQUEST_TIMEOUT_SECONDS", 0.3)
    receiver.delay = 1.0
    (event,) = events_of(mark_sent(sending_message(workspace)))
    assert deliver_event(event.pk) == "failed"
    assert WebhookDelivery.objects.get(event=event).error == "Timed out after 0.3s"


def test_the_sweep_enqueues_due_events_once_until_they_go_stale(workspace, endpoint, enqueued,
                                                                django_capture_on_commit_callbacks) -> None:
    (event,) = events_of(mark_sent(sending_message(workspace)))
    # Just recorded: its task is already in the broker.
    assert deliver_due() == 0
    WebhookEvent.objects.filter(pk=event.pk).update(enqueued_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver_due_webhooks.apply().get() == 1
    assert deliver_due() == 0  # handed out: not again right away
    later = timezone.now() + policy.REENQUEUE_AFTER + timedelta(seconds=1)
    assert deliver_due(now=later) == 1  # the broker lost it: hand it out again
    assert event.pk in [pk for pk, _ in enqueued]


def test_a_try_whose_worker_died_is_released_and_retried(workspace, endpoint, receiver) -> None:
    (event,) = events_of(mark_sent(sending_message(workspace)))
    from webhooks.delivery import claim_event

    assert claim_event(event.pk)
    assert claim_event(event.pk) is False  # the claim is exclusive
    assert release_stuck(now=timezone.now()) == 0
    with time_machine.travel(timezone.now() + policy.STUCK_AFTER + timedelta(seconds=1), tick=False):
        assert deliver_due() == 1  # the sweep releases it and hands it out again
        event.refresh_from_db()
        assert event.status == Status.FAILED and "worker" in event.last_error
        assert deliver_event(event.pk) == "delivered"
    assert list(WebhookDelivery.objects.filter(event=event).order_by("attempt").values_list(
        "attempt", "success")) == [(1, False), (2, True)]


def test_the_late_result_of_a_released_try_is_discarded(workspace, endpoint, receiver, monkeypatch) -> None:
    (event,) = events_of(mark_sent(sending_message(workspace)))
    from webhooks import delivery

    real_post = delivery.post_signed

    def slow_post(**kwargs):
        # While this worker "hangs", the sweep gives the try away.
        release_stuck(now=timezone.now() + policy.STUCK_AFTER + timedelta(seconds=1))
        return real_post(**kwargs)

    monkeypatch.setattr(delivery, "post_signed", slow_post)
    assert deliver_event(event.pk) == "skipped"
    event.refresh_from_db()
    assert event.status == Status.FAILED


def test_deleting_the_endpoint_drops_its_events(workspace, endpoint) -> None:
    (event,) = events_of(mark_sent(sending_message(workspace)))
    endpoint.delete()
    assert not WebhookEvent.objects.filter(pk=event.pk).exists()
    assert deliver_event(event.pk) == "skipped"


def test_body_bytes_are_exactly_what_was_signed(workspace, endpoint, receiver) -> None:
    (event,) = events_of(mark_sent(sending_message(workspace)))
    deliver_event(event.pk)
    got = receiver.requests[0]
    assert got.body == event.body.encode()
    assert json.loads(got.body)["workspaceId"] == workspace.pk
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).last_triggered_at is not None
