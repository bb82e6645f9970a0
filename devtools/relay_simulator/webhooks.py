"""Webhook registrations (BlueBubbles 1.9.9 `/api/v1/webhook`) and their delivery thread.

Delivery copies the real `WebhookService`: `POST {"type","data"}` as JSON, no auth header, no
signature, no retry; a failure is only logged. Unlike the real server (which fires posts
concurrently, so order is not guaranteed) one thread drains an ordered queue: tests get a stable
order, and clients must still not rely on it.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests

log = logging.getLogger("relay_simulator")

# api/http/constants.ts webhookEventOptions, in order (the 400 text lists them in this order).
EVENT_OPTIONS: tuple[str, ...] = (
    "*",
    "new-message",
    "updated-message",
    "message-send-error",
    "group-name-change",
    "group-icon-changed",
    "group-icon-removed",
    "participant-removed",
    "participant-added",
    "participant-left",
    "chat-read-status-changed",
    "typing-indicator",
    "scheduled-message-error",
    "server-update",
    "new-server",
    "new-findmy-location",
    "hello-world",
    "incoming-facetime",
    "ft-call-status-changed",
    "imessage-alias-removed",
    "theme-backup-created",
    "theme-backup-updated",
    "theme-backup-deleted",
    "settings-backup-created",
    "settings-backup-updated",
    "settings-backup-deleted",
)


@dataclass
class Webhook:
    id: int
    url: str
    events: list[str]
    created: str

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "url": self.url, "events": list(self.events), "created": self.created}


class WebhookRegistry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: list[Webhook] = []
        self._next_id = 1

    def add(self, url: str, events: list[str]) -> Webhook:
        """An existing URL comes back unchanged: its events are NOT updated (databases/server#addWebhook)."""
        with self._lock:
            for row in self._rows:
                if row.url == url:
                    return row
            created = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            row = Webhook(self._next_id, url, list(events), created)
            self._next_id += 1
            self._rows.append(row)
            return row

    def all(self) -> list[Webhook]:
        with self._lock:
            return list(self._rows)

    def find_url(self, url: str) -> Webhook | None:
        with self._lock:
            return next((r for r in self._rows if r.url == url), None)

    def delete(self, webhook_id: int) -> bool:
        with self._lock:
            for row in self._rows:
                if row.id == webhook_id:
                    self._rows.remove(row)
                    return True
            return False

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()

    def targets(self, event_type: str) -> list[str]:
        with self._lock:
            return [r.url for r in self._rows if event_type in r.events or "*" in r.events]


@dataclass
class _Post:
    due: float
    url: str
    body: bytes
    record: dict[str, Any]


class Dispatcher(threading.Thread):
    def __init__(self, registry: WebhookRegistry, *, delay_ms: int, timeout_s: float) -> None:
        super().__init__(name="relay-sim-webhooks", daemon=True)
        self._registry = registry
        self._delay_s = max(delay_ms, 0) / 1000.0
        self._timeout_s = timeout_s
        self._queue: queue.Queue[_Post | None] = queue.Queue()
        self._stop = threading.Event()
        # Recent deliveries, newest last, for GET /sim/v1/events (debugging e2e runs).
        self.history: deque[dict[str, Any]] = deque(maxlen=1000)
        self._history_lock = threading.Lock()

    def emit(self, event_type: str, data: Any) -> int:
        """Queue one POST per matching registration (matched now, not at send time); returns the count."""
        urls = self._registry.targets(event_type)
        body = json.dumps({"type": event_type, "data": data}, separators=(",", ":")).encode()
        guid = data.get("guid") if isinstance(data, dict) else None
        due = time.monotonic() + self._delay_s
        for url in urls:
            record = {"type": event_type, "guid": guid, "url": url, "queuedAt": int(time.time() * 1000)}
            self._queue.put(_Post(due, url, body, record))
        return len(urls)

    def stop(self) -> None:
        self._stop.set()
        self._queue.put(None)

    def events(self) -> list[dict[str, Any]]:
        with self._history_lock:
            return [dict(r) for r in self.history]

    def clear_history(self) -> None:
        with self._history_lock:
            self.history.clear()

    def run(self) -> None:
        session = requests.Session()
        while not self._stop.is_set():
            post = self._queue.get()
            if post is None:
                break
            wait = post.due - time.monotonic()
            if wait > 0 and self._stop.wait(wait):
                break
            record = post.record
            try:
                resp = session.post(
                    post.url,
                    data=post.body,
                    headers={"Content-Type": "application/json"},
                    timeout=(min(self._timeout_s, 2.0), self._timeout_s),
                )
                record["status"] = resp.status_code
            except requests.RequestException as exc:
                record["error"] = f"{type(exc).__name__}: {exc}"
                log.warning("relay-sim: webhook %s to %s failed: %s", record["type"], post.url, exc)
            record["sentAt"] = int(time.time() * 1000)
            with self._history_lock:
                self.history.append(record)
        session.close()
