"""Fixtures: an in-process simulator on a free port, a client for it, and a webhook receiver."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from devtools.relay_simulator import RunningSimulator, SimConfig, start

PASSWORD = "test-pw"
PHONE = "+15551234567"
DM = f"iMessage;-;{PHONE}"

# Small but non-zero delays: ordering stays observable and the suite stays fast.
FAST = SimConfig(
    port=0,
    password=PASSWORD,
    send_delay_ms=30,
    deliver_after_ms=80,
    read_after_ms=None,
    hang_seconds=1.0,
    slow_ms=300,
    error_after_ms=80,
    log_requests=False,
)


class WebhookReceiver:
    """A tiny HTTP server recording every `{"type","data"}` POST it gets."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._cond:
                    receiver.events.append({"path": self.path, "headers": dict(self.headers), **json.loads(body)})
                    receiver._cond.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}{path}"

    def of_type(self, event_type: str, guid: str | None = None) -> list[dict[str, Any]]:
        with self._cond:
            return [
                e
                for e in self.events
                if e["type"] == event_type and (guid is None or (e["data"] or {}).get("guid") == guid)
            ]

    def wait_for(
        self, event_type: str, *, guid: str | None = None, count: int = 1, timeout: float = 3.0
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [
                    e
                    for e in self.events
                    if e["type"] == event_type and (guid is None or (e["data"] or {}).get("guid") == guid)
                ]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} {event_type} webhook(s), got {self.events!r}")
                self._cond.wait(left)

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


class Client:
    """requests against one simulator; `api()` adds the password like a BlueBubbles client."""

    def __init__(self, running: RunningSimulator) -> None:
        self.running = running
        self.base = running.url
        self.session = requests.Session()

    def api(self, method: str, path: str, *, auth: bool = True, **kwargs: Any) -> requests.Response:
        params = dict(kwargs.pop("params", {}) or {})
        if auth:
            params.setdefault("password", PASSWORD)
        kwargs.setdefault("timeout", 10)
        return self.session.request(method, f"{self.base}/api/v1{path}", params=params, **kwargs)

    def sim(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return self.session.request(method, f"{self.base}/sim/v1{path}", **kwargs)

    def send_text(self, text: str = "Hello", chat_guid: str = DM, temp_guid: str | None = "temp-1", **extra: Any):
        body: dict[str, Any] = {"chatGuid": chat_guid, "message": text, **extra}
        if temp_guid is not None:
            body["tempGuid"] = temp_guid
        return self.api("POST", "/message/text", json=body)

    def sent(self) -> list[dict[str, Any]]:
        return self.sim("GET", "/sent").json()["data"]

    def fault(self, kind: str, **extra: Any) -> None:
        resp = self.sim("POST", "/faults", json={"kind": kind, **extra})
        assert resp.status_code == 200, resp.text

    def register_webhook(self, url: str, events: list[str] | None = None) -> dict[str, Any]:
        resp = self.api("POST", "/webhook", json={"url": url, "events": events or ["*"]})
        assert resp.status_code == 200, resp.text
        return resp.json()["data"]


def wait_until(predicate: Callable[[], Any], timeout: float = 3.0, interval: float = 0.01) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


@pytest.fixture
def make_client() -> Iterator[Callable[..., Client]]:
    started: list[RunningSimulator] = []

    def factory(**overrides: Any) -> Client:
        running = start(replace(FAST, **overrides))
        started.append(running)
        return Client(running)

    yield factory
    for running in started:
        running.stop()


@pytest.fixture
def client(make_client: Callable[..., Client]) -> Client:
    return make_client()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    rec = WebhookReceiver()
    yield rec
    rec.close()


@pytest.fixture
def hooked(client: Client, receiver: WebhookReceiver) -> tuple[Client, WebhookReceiver]:
    """A simulator with the receiver registered for every event."""
    client.register_webhook(receiver.url(), ["*"])
    return client, receiver
