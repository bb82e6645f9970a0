"""A real local HTTP receiver for webhook tests (loopback only, never the internet)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    status: int = 200
    body: bytes = b'{"ok": true}'
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@contextmanager
def http_receiver(status: int = 200, body: bytes = b'{"ok": true}') -> Iterator[tuple[str, Received]]:
    received = Received(status=status, body=body)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            received.requests.append((dict(self.headers.items()), self.rfile.read(length)))
            self.send_response(received.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(received.body)))
            self.end_headers()
            self.wfile.write(received.body)

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/sms", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
