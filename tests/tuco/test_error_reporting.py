"""Sentry error reporting: off without SENTRY_DSN (nothing sent), and with it, events reach a local fake
Sentry endpoint over HTTP with their content and no secret (relay password, API keys, tokens, `?secret=`)."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tuco.error_reporting import FILTERED, scrub

SECRETS = {"relay_password": "hunter2-relay-pw", "api_key": "tuco_sk_live_0123456789abcdef", "bearer": "tok-123456",
           "callback": "callback-secret-42", "header_key": "tuco_sk_header_secret", "cookie": "session-cookie-77",
           "other_header": "tuco_sk_other_header", "whsec": "whsec_0123abcd4567ef", "url_password": "basic-pw-99",
           "twilio": "twilio-auth-token-xyz"}


class FakeSentry:
    """Accepts envelopes at /api/<project>/envelope/ and keeps their decoded items."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.raw: list[bytes] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                encoding = self.headers.get("Content-Encoding", "")
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "br":
                    import brotli

                    body = brotli.decompress(body)
                owner.raw.append(body)
                for line in body.splitlines():
                    try:
                        owner.items.append(json.loads(line))
                    except ValueError:
                        continue
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.dsn = f"http://publickey@127.0.0.1:{self.server.server_address[1]}/42"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sentry() -> Iterator[FakeSentry]:
    fake = FakeSentry()
    yield fake
    fake.close()


def run_probe(**env: str) -> dict[str, Any]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_")}
    result = subprocess.run([sys.executable, "-m", "tests.tuco.sentry_probe"], capture_output=True, text=True,
                            timeout=120, env={**base, "TUCO_LOG_LEVEL": "ERROR", "PROBE_SECRETS": json.dumps(SECRETS),
                                              **env})
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_without_a_dsn_nothing_is_sent(sentry: FakeSentry) -> None:
    assert run_probe() == {"enabled": False}
    assert sentry.raw == []


def test_events_arrive_with_their_content_and_without_secrets(sentry: FakeSentry) -> None:
    assert run_probe(SENTRY_DSN=sentry.dsn, SENTRY_ENVIRONMENT="test") == {"enabled": True}
    events = [item for item in sentry.items if "exception" in item or "logentry" in item or "message" in item]
    kinds = {value["type"] for event in events for value in event.get("exception", {}).get("values", [])}
    assert {"RuntimeError", "ValueError"} <= kinds, kinds  # the captured error and the failing request
    assert any("webhook failed" in json.dumps(event) for event in events)  # the error log line
    request_event = next(e for e in events if e.get("request", {}).get("url"))
    assert request_event["environment"] == "test" and request_event["request"]["url"].endswith("/boom")
    assert f"secret={FILTERED}" in request_event["request"]["query_string"]
    assert "page=2" in request_event["request"]["query_string"]  # the rest of the query stays
    body = b"".join(sentry.raw).decode()
    leaked = [name for name, secret in SECRETS.items() if secret in body]
    assert leaked == []
    assert FILTERED in body and "relay_password" in body  # the variable is there, its value is not


def test_scrub_rewrites_secrets_inside_strings_and_under_secret_keys() -> None:
    event = {"query_string": "secret=abc&y=1",
             "extra": {"relay_password": "pw", "note": "GET /hooks/bluebubbles/x?secret=abc&y=1",
                       "headers": [["Authorization", "Bearer zzz"], ["Accept", "*/*"]],
                       "urls": ["https://s3/x?X-Amz-Signature=deadbeef&X-Amz-Expires=60"], "count": 3},
             "message": "key tuco_sk_abc and fernet sGnc5xQ2Fowp6C5lzm4FSXMyx08RmXA5QCpGSg-YAc4="}
    assert scrub(event) == {
        "query_string": f"secret={FILTERED}&y=1",
        "extra": {"relay_password": FILTERED, "note": f"GET /hooks/bluebubbles/x?secret={FILTERED}&y=1",
                  "headers": [["Authorization", FILTERED], ["Accept", "*/*"]],
                  "urls": [f"https://s3/x?X-Amz-Signature={FILTERED}&X-Amz-Expires=60"], "count": 3},
        "message": f"key tuco_sk_{FILTERED} and fernet {FILTERED}"}
