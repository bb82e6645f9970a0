"""HTTP plumbing: ThreadingHTTPServer, one log line per request, start/stop and `serve()`."""

from __future__ import annotations

import logging
import re
import select
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from urllib.parse import parse_qs

from .config import SimConfig
from .request import Request
from .responses import Response
from .routing import dispatch
from .simulator import Simulator

log = logging.getLogger("relay_simulator")

_SECRET_PARAM = re.compile(r"(?i)\b(password|guid|token)=[^&]*")


class SimHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # Several worker processes connect at once; the default backlog of 5 would refuse some.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], sim: Simulator) -> None:
        self.sim = sim
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a benchmark should not pay a TCP handshake per send
    server: SimHTTPServer

    def setup(self) -> None:
        super().setup()
        # Without this, keep-alive clients stall ~40 ms per call (Nagle vs delayed ACK).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def version_string(self) -> str:
        return "relay-simulator"

    def log_message(self, format: str, *args: object) -> None:
        pass  # replaced by the single line in _handle

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _client_gone(self) -> bool:
        """True once the client closed its end (it timed out or was killed) during a long send."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def _handle(self) -> None:
        started = time.monotonic()
        raw_path, _, raw_query = self.path.partition("?")
        query = {k: v[0] for k, v in parse_qs(raw_query, keep_blank_values=True).items()}
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        req = Request(
            method=self.command,
            path=raw_path,
            query=query,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            is_disconnected=self._client_gone,
        )
        resp = dispatch(self.server.sim, req)
        status = "-" if resp is None else str(resp.status)
        if resp is None:
            self.close_connection = True  # nothing to say: the client left or we are stopping
        else:
            self._write(resp, pretty="pretty" in query)
        if self.server.sim.config.log_requests:
            shown = self.command + " " + _SECRET_PARAM.sub(r"\1=***", self.path)
            elapsed = (time.monotonic() - started) * 1000
            log.info("relay-sim %s %s %s %.0fms", self.client_address[0], shown, status, elapsed)

    def _write(self, resp: Response, *, pretty: bool) -> None:
        payload = resp.body(pretty=pretty)
        try:
            self.send_response(resp.status)
            self.send_header("Content-Type", resp.content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in resp.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


class RunningSimulator:
    """A simulator serving on a background thread (tests, embedded use)."""

    def __init__(self, sim: Simulator, httpd: SimHTTPServer, thread: threading.Thread) -> None:
        self.sim = sim
        self.httpd = httpd
        self.thread = thread

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.sim.config.host}:{self.port}"

    def stop(self) -> None:
        self.sim.stop()  # wakes sleeping/hanging requests first so shutdown is quick
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> RunningSimulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start(config: SimConfig) -> RunningSimulator:
    """Bind (port 0 = any free port), start the worker threads and serve in the background."""
    sim = Simulator(config)
    httpd = SimHTTPServer((config.host, config.port), sim)
    sim.start()
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="relay-sim-http", daemon=True
    )
    thread.start()
    return RunningSimulator(sim, httpd, thread)


def _configure_logging() -> None:
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


def serve(config: SimConfig) -> None:
    """Serve until SIGTERM/SIGINT; used by `manage.py relay_simulator` and `python -m`."""
    _configure_logging()
    running = start(config)
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_signal)
        signal.signal(signal.SIGINT, _on_signal)
    log.info(
        "relay-sim listening on %s (private_api=%s, chat_prefix=%s, send_delay_ms=%s, deliver_after_ms=%s)",
        running.url,
        config.private_api,
        config.chat_prefix,
        config.send_delay_ms,
        config.deliver_after_ms,
    )
    try:
        while not stop.wait(0.5):
            pass
    finally:
        running.stop()
        log.info("relay-sim stopped")
