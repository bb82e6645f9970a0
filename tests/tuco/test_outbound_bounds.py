"""Every outbound HTTP call is bounded as a whole and in size (tuco.http), whichever way the peer misbehaves:
headers dribbled a byte at a time, a body dribbled forever, or an endless body. Real sockets: a local
server in a thread plays the peer for the relay client, webhook deliveries, the fallback webhook, GHL
and Twilio."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import requests

from fallback.providers import ghl, twilio, webhook
from fallback.providers.base import SendContext
from lines.relay.bluebubbles import BlueBubblesClient
from tuco import http
from tuco.send_errors import SendError
from webhooks import delivery

DEADLINE = 1.0
SLACK = 2.5  # a deadline is checked between socket reads; the test allows scheduling noise on top


def _serve(conn: socket.socket, mode: str) -> None:
    try:
        conn.recv(65536)
        if mode == "slow-headers":
            for byte in b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n":
                conn.sendall(bytes([byte]))
                time.sleep(0.2)
        elif mode == "slow-body":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n")
            while True:
                conn.sendall(b" ")
                time.sleep(0.2)
        elif mode == "huge":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n")
            chunk = b" " * 65536
            while True:
                conn.sendall(chunk)
    except OSError:
        pass
    finally:
        conn.close()


@contextmanager
def misbehaving_peer(mode: str) -> Iterator[str]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            threading.Thread(target=_serve, args=(conn, mode), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(2)
        server.close()


MODES = ["slow-headers", "slow-body", "huge"]


@contextmanager
def _timed() -> Iterator[None]:
    started = time.monotonic()
    yield
    assert time.monotonic() - started < DEADLINE + SLACK


@pytest.mark.parametrize("mode", MODES)
def test_the_helper_stops_at_the_deadline_or_the_size_cap(mode) -> None:
    with misbehaving_peer(mode) as url, _timed(), pytest.raises(requests.RequestException) as caught, \
            requests.Session() as session:
        http.bounded_request(session, "GET", url, deadline=DEADLINE, max_bytes=1024 * 1024)
    expected = http.ResponseTooLarge if mode == "huge" else requests.exceptions.Timeout
    assert isinstance(caught.value, expected)


@pytest.mark.parametrize("mode", MODES)
def test_a_relay_call_is_bounded_and_its_outcome_unknown(mode, settings) -> None:
    settings.TUCO_RELAY_TIMEOUT_SECONDS = DEADLINE
    with misbehaving_peer(mode) as url, _timed(), pytest.raises(SendError) as caught:
        BlueBubblesClient(base_url=url, password="pw").send_text(address="+12025550100", text="hi", temp_guid="t-1")
    assert caught.value.maybe_sent and caught.value.kind == "unknown"


@pytest.mark.parametrize("mode", ["slow-headers", "slow-body"])
def test_a_webhook_delivery_is_bounded(mode, monkeypatch) -> None:
    with misbehaving_peer(mode) as url, _timed():
        result = delivery.post_signed(url=url, secret="whsec_x", body=b"{}", event_type="message.sent",
                                      event_id="e1", timeout=DEADLINE)
    if mode == "slow-headers":
        assert not result.success and result.error.startswith("Timed out")
    else:  # the headers came in time; only a snippet of the body is read
        assert result.success and result.status_code == 200


def test_a_webhook_delivery_reads_only_a_snippet_of_an_endless_body() -> None:
    with misbehaving_peer("huge") as url, _timed():
        result = delivery.post_signed(url=url, secret="whsec_x", body=b"{}", event_type="message.sent",
                                      event_id="e1", timeout=DEADLINE)
    assert result.success and len(result.response) <= delivery.SNIPPET_CHARS


@pytest.mark.parametrize("mode", MODES)
def test_the_fallback_webhook_is_bounded(mode, monkeypatch) -> None:
    monkeypatch.setattr(webhook, "TIMEOUT_SECONDS", DEADLINE)
    with misbehaving_peer(mode) as url, _timed(), pytest.raises(SendError) as caught:
        webhook.WebhookProvider(url=url, secret="s").send_sms(
            to="+12025550100", body="hi", idempotency_key="k", status_callback_url=None, context=SendContext())
    assert not caught.value.permanent and caught.value.maybe_sent


@pytest.mark.parametrize("mode", MODES)
def test_ghl_is_bounded(mode, monkeypatch) -> None:
    monkeypatch.setattr(ghl, "TIMEOUT_SECONDS", DEADLINE)
    with misbehaving_peer(mode) as url, _timed(), pytest.raises(requests.RequestException):
        monkeypatch.setattr(ghl, "BASE_URL", url)
        ghl._request("POST", "/contacts/upsert", token="t", payload={"phone": "+12025550100"})


@pytest.mark.parametrize("mode", MODES)
def test_twilio_is_bounded(mode) -> None:
    client = twilio.BoundedTwilioHttpClient(timeout=DEADLINE)
    with misbehaving_peer(mode) as url, _timed(), pytest.raises(requests.RequestException):
        client.request("POST", f"{url}/2010-04-01/Accounts/AC1/Messages.json", data={"To": "+12025550100"},
                       auth=("AC1", "token"))
