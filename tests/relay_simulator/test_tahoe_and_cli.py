"""macOS 26 Tahoe mode (`--chat-prefix any`, reference §9) and the command-line entry points."""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from devtools.relay_simulator.cli import add_arguments, config_from_options

from .conftest import PHONE

ROOT = Path(__file__).resolve().parents[2]
OTHER = "+15557654321"


def test_tahoe_awaiter_mismatch_and_fallback_failure(make_client) -> None:
    client = make_client(chat_prefix="any")
    assert client.api("GET", "/server/info").json()["data"]["os_version"].startswith("26")

    # No chat yet and an any;-; GUID: the buddy fallback fails with -1700 (#777); nothing written.
    first = client.send_text(chat_guid=f"any;-;{PHONE}", temp_guid="a")
    assert first.status_code == 500 and "-1700" in first.json()["error"]["message"]
    assert client.sent() == []

    # iMessage;-; works on the wire, lands in any;-;, but the awaiter never matches: #801.
    second = client.send_text(chat_guid=f"iMessage;-;{PHONE}", temp_guid="b")
    assert second.status_code == 500 and second.json()["data"] is None
    assert client.sent()[0]["chatGuid"] == f"any;-;{PHONE}" and client.sent()[0]["error"] == 0

    # Now the any;-; chat exists, so sending to its real GUID works.
    third = client.send_text(chat_guid=f"any;-;{PHONE}", temp_guid="c")
    assert third.status_code == 200 and third.json()["data"]["chats"][0]["guid"] == f"any;-;{PHONE}"
    assert client.api("GET", "/chat/any%3B-%3B%2B15551234567").status_code == 200
    assert client.api("GET", "/chat/iMessage%3B-%3B%2B15551234567").status_code == 404


def test_tahoe_private_api_sends_work_with_any_prefix(make_client) -> None:
    client = make_client(chat_prefix="any")
    resp = client.send_text(chat_guid=f"iMessage;-;{OTHER}", temp_guid=None, method="private-api")
    assert resp.status_code == 200
    assert resp.json()["data"]["chats"][0]["guid"] == f"any;-;{OTHER}"
    reply = client.sim("POST", "/inbound", json={"from": OTHER, "text": "hi"}).json()["data"]
    assert reply["chatGuid"] == f"any;-;{OTHER}"


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_cli_defaults_and_flags() -> None:
    cfg = config_from_options(vars(parse()))
    assert (cfg.host, cfg.port, cfg.password) == ("127.0.0.1", 8765, "sim-password")
    assert cfg.private_api is True and cfg.chat_prefix == "iMessage" and cfg.read_after_ms is None
    cfg = config_from_options(
        vars(
            parse(
                "--no-private-api",
                "--chat-prefix",
                "any",
                "--deliver-after-ms",
                "-1",
                "--read-after-ms",
                "500",
                "--hang-seconds",
                "2.5",
                "--send-delay-ms",
                "0",
                "--webhook-delay-ms",
                "10",
            )
        )
    )
    assert cfg.private_api is False and cfg.chat_prefix == "any"
    assert cfg.deliver_after_ms is None and cfg.read_after_ms == 500
    assert cfg.hang_seconds == 2.5 and cfg.send_delay_ms == 0 and cfg.webhook_delay_ms == 10
    with pytest.raises(SystemExit):
        parse("--chat-prefix", "SMS")


def test_management_command_parses_the_same_flags() -> None:
    django = pytest.importorskip("django")
    assert django
    from devtools.management.commands.relay_simulator import Command

    parser = Command().create_parser("manage.py", "relay_simulator")
    options = vars(parser.parse_args(["--port", "9999", "--password", "pw", "--no-private-api"]))
    cfg = config_from_options(options)
    assert cfg.port == 9999 and cfg.password == "pw" and cfg.private_api is False


def test_module_entry_point_starts_fast_and_stops_on_sigterm() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "devtools.relay_simulator", "--port", "0", "--password", "pw"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        match = re.search(r"listening on (http://\S+)", line)
        assert match, line
        url = match.group(1)
        health = requests.get(f"{url}/sim/v1/health", timeout=2)
        assert health.status_code == 200
        assert time.monotonic() - started < 1.5  # generous for a loaded CI box; typically ~0.2 s
        ping = requests.get(f"{url}/api/v1/ping", params={"password": "pw"}, timeout=2)
        assert ping.json()["data"] == "pong"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=3) == 0
        rest = proc.stderr.read()
        assert "GET /api/v1/ping?password=*** 200" in rest  # one line per request, secret redacted
        assert "stopped" in rest
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
