"""Prometheus metrics: /metrics behind its token, every family checked against seeded data or a real send,
delivery, sweep and task; the workers' own metrics port."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import requests
import responses
from django.test import Client
from django.utils import timezone
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from lines.models import LineDailyUsage
from messaging import tasks as messaging_tasks
from messaging.models import Message
from messaging.send import wake
from messaging.send.dispatcher import send_message
from tests.factories import DeviceFactory, LineFactory, MessageFactory, WorkspaceFactory
from tests.messaging.relay_mocks import RELAY, relay_accepts_everything, send_status
from tuco.metrics import worker_metrics_serve
from webhooks.delivery import deliver_event
from webhooks.models import WebhookEndpoint, WebhookEvent
from webhooks.signing import new_secret

TOKEN = "metrics-token-for-tests"
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def metrics_token(settings: Any) -> None:
    settings.TUCO_METRICS_TOKEN = TOKEN


def scrape(client: Client) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """GET /metrics → {sample name: {sorted labels: value}}."""
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_metrics_need_the_token_and_are_off_without_one(client: Client, settings: Any) -> None:
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope")
    assert (wrong.status_code, wrong.json()) == (401, {"error": "Unauthorized"})
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    settings.TUCO_METRICS_TOKEN = ""
    off = client.get("/metrics", HTTP_AUTHORIZATION="Bearer ")
    assert (off.status_code, off.json()) == (404, {"error": "Not found"})


def test_database_gauges_match_the_seeded_rows(client: Client) -> None:
    workspace = WorkspaceFactory()
    for status, channel, reason, n in [("sent", "imessage", "", 3), ("queued", "sms", "device_gap", 2),
                                       ("queued", "imessage", "line_daily_total", 1), ("failed", "email", "", 1)]:
        for _ in range(n):
            MessageFactory(workspace=workspace, status=status, message_type=channel, queued_reason=reason)
    busy = LineFactory(workspace=workspace, availability_daily_cap=70)
    fresh = LineFactory(workspace=workspace, availability_daily_cap=10, timezone="America/New_York")
    LineFactory(workspace=workspace, is_active=False)
    from tuco.calendar import local_day

    LineDailyUsage.objects.create(line=busy, day=local_day(timezone.now(), busy.timezone), availability_count=20)
    LineDailyUsage.objects.create(line=fresh, day=local_day(timezone.now(), "UTC") - timedelta(days=1),
                                  availability_count=9)  # yesterday's checks do not count
    endpoint = WebhookEndpoint.objects.create(workspace=workspace, url="https://hooks.example/x", events=["x"],
                                              name="h", secret=new_secret())
    for status, age in [("pending", 120), ("failed", 30), ("dead", 5000), ("delivered", 9999)]:
        WebhookEvent.objects.create(workspace=workspace, endpoint=endpoint, event_type="message.sent", body="{}",
                                    status=status, created_at=timezone.now() - timedelta(seconds=age))

    samples = scrape(client)
    assert samples["tuco_messages"] == {
        (("channel", "imessage"), ("status", "sent")): 3, (("channel", "sms"), ("status", "queued")): 2,
        (("channel", "imessage"), ("status", "queued")): 1, (("channel", "email"), ("status", "failed")): 1}
    assert samples["tuco_queue_depth"] == {(("queued_reason", "device_gap"),): 2,
                                           (("queued_reason", "line_daily_total"),): 1}
    assert samples["tuco_line_availability_budget_remaining"] == {(("line", busy.pk),): 50,
                                                                  (("line", fresh.pk),): 10}
    assert samples["tuco_webhook_events"] == {(("status", "pending"),): 1, (("status", "delivering"),): 0,
                                              (("status", "failed"),): 1, (("status", "dead"),): 1}
    [oldest] = samples["tuco_webhook_oldest_open_seconds"].values()
    assert 119 <= oldest < 180  # the pending one; dead and delivered are not waiting


@responses.activate
def test_a_real_send_observes_its_latency_and_relay_calls(api: Any, workspace: Any, settings: Any,
                                                          monkeypatch: pytest.MonkeyPatch, client: Client) -> None:
    monkeypatch.setattr(wake, "publish", lambda *a, **k: None)
    line = LineFactory(workspace=workspace, device=DeviceFactory(workspace=workspace, relay_url=RELAY,
                                                                 relay_password="pw"))
    before = (value("tuco_send_latency_seconds_count", channel="imessage"),
              value("tuco_relay_call_seconds_count", line=line.pk),
              value("tuco_relay_call_errors_total", line=line.pk, reason="http_5xx"))
    relay_accepts_everything()
    created = api.post("/api/messages", {"message": "hi", "recipientPhone": "+12025551234"}, format="json")
    message_id = created.json()["message"]["_id"]
    assert send_message(message_id) == "sent"
    message = Message.objects.get(pk=message_id)
    latency = (message.sent_at - message.created_at).total_seconds()
    assert value("tuco_send_latency_seconds_count", channel="imessage") == before[0] + 1
    assert value("tuco_send_latency_seconds_bucket", channel="imessage", le="5.0") >= 1 and latency < 5
    assert value("tuco_relay_call_seconds_count", line=line.pk) == before[1] + 1
    # A relay that answers 500 is an error of that line's relay.
    responses.reset()
    send_status(500, "Failed to send message! See attached message error code.")
    second = api.post("/api/messages", {"message": "again", "recipientPhone": "+12025551235"}, format="json")
    send_message(second.json()["message"]["_id"])
    assert value("tuco_relay_call_errors_total", line=line.pk, reason="http_5xx") == before[2] + 1
    # The web process's own registry is part of /metrics too.
    assert scrape(client)["tuco_relay_call_seconds_count"][(("line", line.pk),)] == before[1] + 2


@responses.activate
def test_relay_transport_errors_are_counted_by_reason(workspace: Any) -> None:
    from lines.relay.client import relay_for_device

    device = DeviceFactory(workspace=workspace, relay_url=RELAY, relay_password="pw")
    line = LineFactory(workspace=workspace, device=device)
    responses.get(f"{RELAY}/api/v1/ping", body=requests.exceptions.ConnectionError("refused"))
    before = value("tuco_relay_call_errors_total", line=line.pk, reason="connection")
    with pytest.raises(Exception):  # noqa: B017 - the SendError of an unreachable relay
        relay_for_device(device, line_id=line.pk).ping()
    assert value("tuco_relay_call_errors_total", line=line.pk, reason="connection") == before + 1
    before_device = value("tuco_relay_call_seconds_count", line=f"device:{device.pk}")
    with pytest.raises(Exception):  # noqa: B017
        relay_for_device(device).ping()  # a device-wide call (health ping)
    assert value("tuco_relay_call_seconds_count", line=f"device:{device.pk}") == before_device + 1


@responses.activate
def test_webhook_deliveries_observe_lag_and_failures(workspace: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from webhooks import delivery

    monkeypatch.setattr(delivery, "enqueue_delivery", lambda *a, **k: True)
    endpoint = WebhookEndpoint.objects.create(workspace=workspace, url="https://hooks.example/in", events=["x"],
                                              name="h", secret=new_secret())
    responses.post("https://hooks.example/in", status=200)
    responses.post("https://hooks.example/in", status=503)
    before = (value("tuco_webhook_delivery_lag_seconds_count"), value("tuco_webhook_deliveries_total",
                                                                      outcome="delivered"),
              value("tuco_webhook_deliveries_total", outcome="failed"),
              value("tuco_webhook_delivery_failures_total", reason="http_5xx"),
              value("tuco_webhook_delivery_lag_seconds_bucket", le="60.0"))
    now = timezone.now()
    old = WebhookEvent.objects.create(workspace=workspace, endpoint=endpoint, event_type="x", body="{}",
                                      created_at=now - timedelta(seconds=90), next_attempt_at=now)
    assert deliver_event(old.pk) == "delivered"
    assert value("tuco_webhook_delivery_lag_seconds_count") == before[0] + 1
    assert value("tuco_webhook_delivery_lag_seconds_bucket", le="60.0") == before[4]  # 90 s is above 60
    assert value("tuco_webhook_deliveries_total", outcome="delivered") == before[1] + 1
    failing = WebhookEvent.objects.create(workspace=workspace, endpoint=endpoint, event_type="x", body="{}",
                                          next_attempt_at=now)
    assert deliver_event(failing.pk) == "failed"
    assert value("tuco_webhook_deliveries_total", outcome="failed") == before[2] + 1
    assert value("tuco_webhook_delivery_failures_total", reason="http_5xx") == before[3] + 1


def test_sweeps_and_celery_tasks_are_timed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wake, "publish", lambda *a, **k: None)
    before = (value("tuco_sweep_seconds_count", sweep="due"), value("tuco_sweep_seconds_count", sweep="fallbacks"),
              value("tuco_celery_tasks_total", task="messaging.tasks.sweep_fallbacks", state="success"),
              value("tuco_celery_task_seconds_count", task="messaging.tasks.sweep_fallbacks"))
    MessageFactory(status="pending", next_attempt_at=timezone.now() - timedelta(minutes=5))
    assert messaging_tasks.sweep_due_messages() == 1
    assert value("tuco_sweep_seconds_count", sweep="due") == before[0] + 1
    messaging_tasks.sweep_fallbacks.apply()  # run as a worker runs it: the task signals fire
    assert value("tuco_sweep_seconds_count", sweep="fallbacks") == before[1] + 1
    assert value("tuco_celery_tasks_total", task="messaging.tasks.sweep_fallbacks", state="success") == before[2] + 1
    assert value("tuco_celery_task_seconds_count", task="messaging.tasks.sweep_fallbacks") == before[3] + 1


def test_a_worker_serves_its_metrics_on_its_own_port(settings: Any) -> None:
    server = worker_metrics_serve(port=0, addr="127.0.0.1")
    assert server is not None
    try:
        url = f"http://127.0.0.1:{server.server_port}/metrics"
        assert requests.get(url, timeout=5).status_code == 401
        answer = requests.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
        assert answer.status_code == 200
        names = {family.name for family in text_string_to_metric_families(answer.text)}
        assert {"tuco_send_latency_seconds", "tuco_relay_call_seconds", "tuco_relay_call_errors",
                "tuco_webhook_delivery_lag_seconds", "tuco_sweep_seconds", "tuco_celery_tasks"} <= names
        assert "tuco_messages" not in names  # database gauges are web's, computed once per scrape
    finally:
        server.shutdown()
        server.server_close()
    settings.TUCO_METRICS_TOKEN = ""
    assert worker_metrics_serve(port=0) is None  # never an open port without a token
