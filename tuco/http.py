"""Outbound HTTP with an overall deadline and a response-size cap, for every call the server makes to
someone else (relays, webhook receivers, Twilio, GHL, fallback webhooks; attachment downloads follow their
redirects themselves and take only the deadline, `call_deadline`).

`requests` timeouts are per socket read: a peer that dribbles its headers a byte every few seconds, or
answers with an endless body, would hold a worker forever. Here:

- a watchdog shuts the call's socket down when the deadline passes, wherever the call is blocked
  (waiting for headers, reading the body); the pools of the sessions used here register the connection
  each call takes (`WatchedPoolMixin`), so keep-alive connections are covered too;
- the body is read streamed, one socket read at a time, and the call stops past `max_bytes` (or, with
  `truncate`, keeps the first `max_bytes`);
- both failures are `requests` exceptions (`DeadlineExceeded` is a `ReadTimeout`: the request went
  out, so the provider's error classification treats it as "maybe sent").
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3 import Timeout
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

READ_CHUNK = 64 * 1024


class DeadlineExceeded(requests.exceptions.ReadTimeout):
    """The whole call (connect, headers, body) took longer than its deadline."""


class ResponseTooLarge(requests.exceptions.RequestException):
    """The peer answered with more than the caller accepts."""


_calls = threading.local()  # the connections the current call of this thread took


class WatchedPoolMixin:
    """A connection pool that tells the running bounded call which connection it handed out."""

    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)  # type: ignore[misc]
        watched = getattr(_calls, "connections", None)
        if watched is not None:
            watched.append(conn)
        return conn


class WatchedHTTPPool(WatchedPoolMixin, HTTPConnectionPool):
    pass


class WatchedHTTPSPool(WatchedPoolMixin, HTTPSConnectionPool):
    pass


class WatchedAdapter(HTTPAdapter):
    watched = True

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": WatchedHTTPPool, "https": WatchedHTTPSPool}


def _watchable(session: requests.Session) -> None:
    for prefix in ("http://", "https://"):
        if not getattr(session.get_adapter(prefix), "watched", False):
            session.mount(prefix, WatchedAdapter())


def _shut(connections: list[Any], expired: threading.Event) -> None:
    expired.set()
    for conn in list(connections):
        sock = getattr(conn, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def deadline_timeout(*, connect: float, deadline: float) -> Timeout:
    """A timeout for requests whose connect + headers fit in `deadline` seconds."""
    return Timeout(connect=min(connect, deadline), read=deadline, total=deadline)


@contextlib.contextmanager
def call_deadline(session: requests.Session, deadline: float) -> Iterator[threading.Event]:
    """Shut every socket `session` takes in this thread inside the block once `deadline` seconds have
    passed, wherever the call is blocked (connect, headers, body); yields the Event set when it fired."""
    _watchable(session)
    connections: list[Any] = []
    expired = threading.Event()
    watchdog = threading.Timer(deadline, _shut, (connections, expired))
    watchdog.daemon = True
    _calls.connections = connections
    watchdog.start()
    try:
        yield expired
    finally:
        watchdog.cancel()
        _calls.connections = None


def bounded_request(session: requests.Session, method: str, url: str, *, deadline: float, max_bytes: int,
                    connect_timeout: float = 5.0, truncate: bool = False, **kwargs: Any) -> requests.Response:
    """One call, finished within `deadline` seconds with at most `max_bytes` of body (in `.content`)."""
    started = time.monotonic()
    with call_deadline(session, deadline) as expired:
        try:
            response = session.request(method, url, timeout=deadline_timeout(connect=connect_timeout,
                                                                              deadline=deadline),
                                       stream=True, **kwargs)
            try:
                response._content = read_capped(response, deadline_at=started + deadline, max_bytes=max_bytes,
                                                truncate=truncate)
            finally:
                response.close()
        except (requests.RequestException, OSError) as exc:
            if expired.is_set() and not isinstance(exc, ResponseTooLarge):
                raise DeadlineExceeded(f"the call took longer than its {deadline:g}s deadline") from exc
            raise
    return response


def read_capped(response: requests.Response, *, deadline_at: float, max_bytes: int, truncate: bool = False) -> bytes:
    declared = (response.headers.get("Content-Length") or "").strip()
    if not truncate and declared.isdigit() and int(declared) > max_bytes:
        raise ResponseTooLarge(f"response of {declared} bytes is over the {max_bytes}-byte limit")
    body = bytearray()
    raw = response.raw
    while True:
        # read1: at most one socket read per call, so the deadline is checked between reads.
        try:
            chunk = raw.read1(READ_CHUNK, decode_content=True) if hasattr(raw, "read1") else raw.read(READ_CHUNK)
        except Exception:
            if truncate and time.monotonic() > deadline_at:
                return bytes(body)  # the status came in time; keep the part of the body that did
            raise
        if not chunk:
            if truncate and time.monotonic() > deadline_at:
                return bytes(body)
            break
        body += chunk
        if len(body) > max_bytes:
            if truncate:
                return bytes(body[:max_bytes])
            raise ResponseTooLarge(f"response over the {max_bytes}-byte limit")
        if time.monotonic() > deadline_at:
            if truncate:
                return bytes(body)
            raise DeadlineExceeded("the call took longer than its deadline")
    return bytes(body)
