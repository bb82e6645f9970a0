"""Prometheus metrics observed where things happen (prometheus-client), and the workers' own /metrics port.

Two kinds of figures (README "Metrics", docs/deployment.md):

- **Observed in the process** (this module): send latency (created → sent), relay calls (latency and
  errors by line), webhook deliveries (lag and failures), sweep durations, Celery tasks. They live in the
  process that did the work — mostly the Celery workers — and each worker serves its own on
  `TUCO_WORKER_METRICS_PORT` (`worker_metrics_serve`, a thread started with the worker), which Prometheus
  scrapes per worker: no shared directory, so workers on any number of hosts each report for themselves.
- **Derived from the database at scrape time** (`messaging.metrics`): messages by status and channel, queue
  depth by queuedReason, availability budget left per line, the webhook outbox. Served by web's `/metrics`
  (`messaging.metrics_api`); the same from any web process.

Hot-path cost: one labelled observe is 3-8 µs (bench/metrics_overhead.py), next to
milliseconds of database and relay work per send. Both endpoints take `Authorization: Bearer
<TUCO_METRICS_TOKEN>`; without a token configured they are off.
"""

from __future__ import annotations

import functools
import hmac
import re
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.conf import settings
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, make_wsgi_app

from tuco.logging import get_logger

log = get_logger(__name__)

# Messages may wait hours on pacing and windows: buckets from a second to a day.
SEND_LATENCY = Histogram(
    "tuco_send_latency_seconds", "From the message's creation to its send (status sent), by channel.",
    ["channel"], buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 12 * 3600, 24 * 3600))
RELAY_CALL = Histogram(
    "tuco_relay_call_seconds", "One HTTP call to a line's relay (BlueBubbles), whatever it answered.",
    ["line"], buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 130))
RELAY_ERRORS = Counter(
    "tuco_relay_call_errors", "Relay calls that failed: transport (timeout, connect, answer) or HTTP status class.",
    ["line", "reason"])
WEBHOOK_LAG = Histogram(
    "tuco_webhook_delivery_lag_seconds", "From the event to its successful delivery (retries included).",
    buckets=(0.1, 0.5, 1, 2.5, 5, 15, 30, 60, 300, 900, 3600, 6 * 3600, 24 * 3600))
WEBHOOK_DELIVERIES = Counter(
    "tuco_webhook_deliveries", "Webhook delivery tries by outcome (delivered, failed = retry scheduled, dead).",
    ["outcome"])
WEBHOOK_FAILURES = Counter(
    "tuco_webhook_delivery_failures", "Failed webhook tries by reason (HTTP status class, or error).", ["reason"])
SWEEP_SECONDS = Histogram(
    "tuco_sweep_seconds", "Duration of one beat sweep run.", ["sweep"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
TASKS = Counter("tuco_celery_tasks", "Celery tasks run by this worker, by task name and final state.",
                ["task", "state"])
TASK_SECONDS = Histogram("tuco_celery_task_seconds", "Celery task run time, by task name.", ["task"],
                         buckets=(0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60, 300, 1200))


def send_latency_observe(*, channel: str, created_at: datetime | None, sent_at: datetime | None) -> None:
    if created_at is not None and sent_at is not None:
        SEND_LATENCY.labels(channel or "imessage").observe(max(0.0, (sent_at - created_at).total_seconds()))


def relay_call_observe(*, line: str, seconds: float, reason: str | None) -> None:
    """`reason` None: the relay answered below 400."""
    RELAY_CALL.labels(line).observe(seconds)
    if reason is not None:
        RELAY_ERRORS.labels(line, reason).inc()


def webhook_delivery_observe(*, outcome: str, status_code: int | None, event_created_at: datetime | None,
                             at: datetime) -> None:
    WEBHOOK_DELIVERIES.labels(outcome).inc()
    if outcome == "delivered":
        if event_created_at is not None:
            WEBHOOK_LAG.observe(max(0.0, (at - event_created_at).total_seconds()))
    else:
        WEBHOOK_FAILURES.labels(f"http_{status_code // 100}xx" if status_code else "error").inc()


def timed_sweep(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator for a sweep's task shell: its run time goes to tuco_sweep_seconds{sweep=name}."""
    child = SWEEP_SECONDS.labels(name)

    def wrap(function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            with child.time():
                return function(*args, **kwargs)
        return timed
    return wrap


# --- Celery task metrics (signals, connected by tuco.celery) ---------------------------------------------
_started: dict[str, float] = {}
_started_lock = threading.Lock()


def task_started(task_id: str | None, **_: Any) -> None:
    if task_id:
        with _started_lock:
            _started[task_id] = time.perf_counter()


def task_finished(task_id: str | None, task: Any = None, state: str | None = None, **_: Any) -> None:
    with _started_lock:
        started = _started.pop(task_id or "", None)
    name = getattr(task, "name", None) or "unknown"
    TASKS.labels(name, (state or "unknown").lower()).inc()
    if started is not None:
        TASK_SECONDS.labels(name).observe(time.perf_counter() - started)


# --- auth and the workers' port ----------------------------------------------------------------------------
_BEARER = re.compile(r"^Bearer\s+(\S+)\s*$")


def token_ok(authorization: str | None) -> bool:
    """The request's `Authorization` carries TUCO_METRICS_TOKEN (compared in constant time)."""
    expected = settings.TUCO_METRICS_TOKEN
    match = _BEARER.match(authorization or "")
    return bool(expected) and match is not None and hmac.compare_digest(match.group(1).encode(), expected.encode())


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # scrapes every 15 s would flood the worker log
        return


def metrics_wsgi_app(registry: CollectorRegistry = REGISTRY) -> Callable[..., Iterable[bytes]]:
    """prometheus-client's exposition app behind the bearer token; 401 in the API's error shape otherwise."""
    exposition = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "/") not in ("/", "/metrics"):
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [b'{"error":"Not found"}']
        if not token_ok(environ.get("HTTP_AUTHORIZATION")):
            start_response("401 Unauthorized", [("Content-Type", "application/json"),
                                                ("WWW-Authenticate", 'Bearer realm="metrics"')])
            return [b'{"error":"Unauthorized"}']
        return exposition(environ, start_response)
    return app


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def worker_metrics_serve(*, port: int | None = None, addr: str | None = None) -> WSGIServer | None:
    """Serve this process's metrics on TUCO_WORKER_METRICS_PORT in a daemon thread (None: off, or the port is
    taken — logged, the worker runs on without it)."""
    port = settings.TUCO_WORKER_METRICS_PORT if port is None else port
    addr = settings.TUCO_WORKER_METRICS_ADDR if addr is None else addr
    if not port and port != 0:
        return None
    if not settings.TUCO_METRICS_TOKEN:
        log.warning("metrics.worker_port_without_token", port=port)
        return None
    try:
        server = make_server(addr, int(port), metrics_wsgi_app(), server_class=_ThreadingWSGIServer,
                             handler_class=_QuietHandler)
    except OSError as exc:
        log.warning("metrics.worker_port_unavailable", port=port, error=str(exc))
        return None
    threading.Thread(target=server.serve_forever, name="tuco-metrics", daemon=True).start()
    log.info("metrics.worker_port", addr=addr, port=server.server_port)
    return server
