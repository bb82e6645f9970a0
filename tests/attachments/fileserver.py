"""A local HTTP file server (stdlib, one thread per request) with the misbehaviours attachment downloads meet.

Routes:
  /files/<anything>           a file registered with `add()` (served with a misleading Content-Type)
  /status/<code>              an empty answer with that status
  /redirect/<n>?to=<target>   n redirects in a row, then to `target` (a path or an absolute URL)
  /go/?to=<target>            one redirect from a URL without a file name
  /big-declared               Content-Length: 30 MB, then streams zeros
  /big-chunked                chunked, no Content-Length, streams up to 64 MB
  /gzip-bomb                  Content-Length of the ~40 KB gzip body that inflates to 40 MB
  /short-body                 Content-Length: 5000, sends 100 bytes and closes
  /slow?delay=<s>             waits before answering
  /drip                       a byte every 50 ms (each read is fast, the whole is endless)
  /drip-headers               the status line, then a header line every 50 ms, never the end of the headers
"""

from __future__ import annotations

import contextlib
import gzip
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from tests.attachments import samples

MB = 1024 * 1024


class FileServer:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.files: dict[str, tuple[bytes, str]] = {}
        self.hits: list[str] = []
        self.sent: dict[str, int] = {}
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._bomb: bytes | None = None
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self.close_connection = True
                parts = urlsplit(self.path)
                with server._lock:
                    server.hits.append(parts.path)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client hung up on purpose
                    server._route(self, parts.path, parse_qs(parts.query))

        self._httpd = ThreadingHTTPServer((host, 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def add(self, path: str, content: bytes, content_type: str = "text/plain") -> str:
        self.files[path] = (content, content_type)
        return self.url(path)

    def hit_count(self, path: str) -> int:
        with self._lock:
            return self.hits.count(path)

    def close(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    # --- routes -----------------------------------------------------------------------------
    def _headers(self, h: BaseHTTPRequestHandler, status: int, headers: dict[str, str]) -> None:
        h.send_response(status)
        for key, value in headers.items():
            h.send_header(key, value)
        h.send_header("Connection", "close")
        h.end_headers()

    def _stream(self, h: BaseHTTPRequestHandler, key: str, first: bytes, total: int, *, chunked: bool) -> None:
        sent, block = 0, b"\x00" * (64 * 1024)
        while sent < total and not self.stopping.is_set():
            data = first if sent == 0 else block
            if chunked:
                h.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            else:
                h.wfile.write(data)
            sent += len(data)
            with self._lock:
                self.sent[key] = sent
        if chunked:
            h.wfile.write(b"0\r\n\r\n")

    def _route(self, h: BaseHTTPRequestHandler, path: str, query: dict[str, list[str]]) -> None:
        if path in self.files:
            content, content_type = self.files[path]
            self._headers(h, 200, {"Content-Type": content_type, "Content-Length": str(len(content))})
            h.wfile.write(content)
        elif path.startswith("/status/"):
            self._headers(h, int(path.rsplit("/", 1)[1]), {"Content-Length": "0"})
        elif path == "/go/":
            self._headers(h, 302, {"Location": query["to"][0], "Content-Length": "0"})
        elif path.startswith("/redirect/"):
            left, target = int(path.rsplit("/", 1)[1]), query["to"][0]
            location = f"/redirect/{left - 1}?to={target}" if left > 1 else target
            self._headers(h, 302, {"Location": location, "Content-Length": "0"})
        elif path == "/big-declared":
            self._headers(h, 200, {"Content-Type": "image/png", "Content-Length": str(30 * MB)})
            self._stream(h, path, samples.png(), 30 * MB, chunked=False)
        elif path == "/big-chunked":
            self._headers(h, 200, {"Content-Type": "image/png", "Transfer-Encoding": "chunked"})
            self._stream(h, path, samples.png(), 64 * MB, chunked=True)
        elif path == "/gzip-bomb":
            if self._bomb is None:
                self._bomb = gzip.compress(samples.png() + b"\x00" * (40 * MB), compresslevel=9)
            self._headers(h, 200, {"Content-Type": "image/png", "Content-Encoding": "gzip",
                                   "Content-Length": str(len(self._bomb))})
            h.wfile.write(self._bomb)
        elif path == "/short-body":
            self._headers(h, 200, {"Content-Type": "image/png", "Content-Length": "5000"})
            h.wfile.write(samples.png()[:100])
        elif path == "/slow":
            self.stopping.wait(float(query.get("delay", ["5"])[0]))
            self._headers(h, 200, {"Content-Type": "image/png", "Content-Length": str(len(samples.png()))})
            h.wfile.write(samples.png())
        elif path == "/drip-headers":
            h.wfile.write(b"HTTP/1.1 200 OK\r\n")
            while not self.stopping.wait(0.05):
                h.wfile.write(b"X-Drip: 1\r\n")
        elif path == "/drip":
            body = samples.png() + b"\x00" * 10_000
            self._headers(h, 200, {"Content-Type": "image/png", "Content-Length": str(len(body))})
            for byte in body:
                if self.stopping.wait(0.05):
                    break
                h.wfile.write(bytes([byte]))
                h.wfile.flush()
        else:
            self._headers(h, 404, {"Content-Length": "0"})
