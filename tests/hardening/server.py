"""The real app over real HTTP, in a thread of the test process, on the test database.

This is Django's LiveServerThread (threaded WSGI server, one thread per connection,
each with its own database connection), started directly rather than through
pytest-django's `live_server` fixture: that fixture makes every test using it a
`transactional_db` test, which flushes the database after each test, and the
schemathesis module runs one test per API operation against one seeded workspace.
Settings overridden in the test process apply to the server too (same process).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.servers.basehttp import ThreadedWSGIServer
from django.test.testcases import LiveServerThread


class _NoDelayWSGIServer(ThreadedWSGIServer):
    """Answers without Nagle's delay: the server writes headers and body separately, and the client's delayed
    ACK of the first write held the second back ~40 ms, on every request of a keep-alive session."""

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address


class _NoDelayLiveServerThread(LiveServerThread):
    server_class = _NoDelayWSGIServer


@contextmanager
def live_http_server() -> Iterator[str]:
    """Serve the app on a free loopback port; yields its base URL."""
    thread = _NoDelayLiveServerThread("127.0.0.1", StaticFilesHandler, port=0)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait(timeout=30)
    if thread.error:
        raise thread.error
    try:
        yield f"http://127.0.0.1:{thread.port}"
    finally:
        thread.terminate()
