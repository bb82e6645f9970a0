"""A slow tenant endpoint cannot starve the sends: webhook deliveries run on their own queue and worker.

Six webhook endpoints that accept the connection and never answer take every delivery to its 10 s
deadline; a burst of sends goes out meanwhile at the relay's pace. On one shared pool the deliveries
(six per send) would hold every thread and the sends would wait behind them.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from tests.e2e.harness import Stack, wait_until

SENDS = 12
ENDPOINTS = 6
_numbers = iter(range(10_000))


def recipient() -> str:
    return f"+1202556{next(_numbers):04d}"


@contextmanager
def silent_endpoint() -> Iterator[tuple[str, list[socket.socket]]]:
    """Accepts connections, reads the request, never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(128)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/hook", held
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        server.close()


def test_sends_go_out_while_every_webhook_delivery_hangs(stack: Stack) -> None:
    sim = stack.sims[0]
    _, key, line_id = stack.workspace_with_line(sim)
    with silent_endpoint() as (url, held):
        for n in range(ENDPOINTS):
            created = stack.api(key, "POST", "/api/webhooks", json={"url": url, "name": f"slow-{n}",
                                                                    "events": ["message.sent"]})
            assert created.status_code == 201, created.text
        first = stack.send(key, message="warm-up", recipientPhone=recipient(), fromLineId=line_id)
        stack.wait_status(key, first["_id"], {"sent", "delivered"})
        wait_until(lambda: len(held) >= 3, timeout=15, what="the deliveries hanging on the endpoint")
        started = time.monotonic()
        docs = [stack.send(key, message=f"burst {i}", recipientPhone=recipient(), fromLineId=line_id)
                for i in range(SENDS)]
        for doc in docs:
            stack.wait_status(key, doc["_id"], {"sent", "delivered"}, timeout=30)
        elapsed = time.monotonic() - started
        assert len(held) >= 4  # the deliveries of the burst were hanging too
    assert elapsed < 10, f"{SENDS} sends took {elapsed:.1f}s while webhook deliveries hung"
