"""Fixtures for outgoing webhooks: a real HTTP receiver in a thread, endpoint and message builders.

The broker is never touched: `enqueue_delivery` is replaced by a recorder, and
tests run the delivery service (or the task with .apply) themselves.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.utils import timezone

import webhooks.admin  # noqa: F401  (registered via tuco.admin; imported here too before any URLconf load)
from messaging.models import Message
from messaging.send.state import transition
from tests.factories import LineFactory, MessageFactory
from webhooks import delivery
from webhooks.models import EVENT_TYPES, WebhookEndpoint, WebhookEvent
from webhooks.signing import new_secret


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A stdlib HTTP server that records every POST and answers from a script (default 200)."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    script: list[int] = field(default_factory=list)
    default_status: int = 200
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def respond_with(self, *statuses: int) -> None:
        self.script.extend(statuses)

    def next_status(self) -> int:
        with self.lock:
            return self.script.pop(0) if self.script else self.default_status


class _Handler(BaseHTTPRequestHandler):
    receiver: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.receiver.lock:
            self.receiver.requests.append(Received(self.path, dict(self.headers.items()), body))
        if self.receiver.delay:
            time.sleep(self.receiver.delay)
        status = self.receiver.next_status()
        answer = json.dumps({"ok": 200 <= status < 300, "status": status}).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
        except OSError:
            pass  # the client gave up (timeout tests)

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    handler = type("Handler", (_Handler,), {"receiver": rec})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    rec.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield rec
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, float | None]]:
    """Every task hand-off as (event pk, countdown), instead of publishing to the broker."""
    calls: list[tuple[int, float | None]] = []

    def record(event_pk: int, *, countdown: float | None = None) -> bool:
        calls.append((event_pk, countdown))
        return True

    monkeypatch.setattr(delivery, "enqueue_delivery", record)
    return calls


def make_endpoint(workspace: Any, url: str, *, events: tuple[str, ...] = EVENT_TYPES, **kw: Any) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(workspace=workspace, url=url, events=list(events), name="test hook",
                                          secret=new_secret(), **kw)


@pytest.fixture
def endpoint(workspace: Any, receiver: Receiver) -> WebhookEndpoint:
    return make_endpoint(workspace, receiver.url)


def sending_message(workspace: Any, **kw: Any) -> Message:
    line = kw.pop("line", None) or LineFactory(workspace=workspace)
    return MessageFactory(workspace=workspace, line=line, status="sending", sending_since=timezone.now(), **kw)


def mark_sent(message: Message) -> Message:
    updated = transition(message.pk, to="sent", fields={"sent_at": timezone.now()}, reason="test")
    assert updated is not None
    return updated


def mark_delivered(message: Message) -> Message:
    updated = transition(message.pk, to="delivered", fields={"delivered_at": timezone.now()}, reason="test")
    assert updated is not None
    return updated


def events_of(message: Message) -> list[WebhookEvent]:
    return list(WebhookEvent.objects.filter(message_id=message.pk).order_by("pk"))


def make_due(*events: WebhookEvent, task_lost: bool = False) -> None:
    """Skip the backoff wait (what time passing would do); `task_lost`: its countdown task never ran."""
    fields: dict[str, Any] = {"next_attempt_at": timezone.now()}
    if task_lost:
        fields["enqueued_at"] = None
    WebhookEvent.objects.filter(pk__in=[e.pk for e in events]).update(**fields)
