"""The web access log never carries a callback's ?secret= (gunicorn.conf.py)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.e2e.harness import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]


def test_the_access_log_leaves_out_query_strings(tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "access.log"
    app = tmp_path / "echo_app.py"
    app.write_text("def app(environ, start_response):\n"
                   "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
                   "    return [b'ok']\n")
    web = subprocess.Popen([str(Path(sys.executable).with_name("gunicorn")), "--chdir", str(tmp_path), "echo_app:app",
                            "--bind", f"127.0.0.1:{port}", "--access-logfile", str(log),
                            "--config", str(ROOT / "gunicorn.conf.py")], cwd=ROOT)
    try:
        wait_until(lambda: requests.get(f"http://127.0.0.1:{port}/", timeout=1).ok, timeout=20, what="gunicorn")
        requests.post(f"http://127.0.0.1:{port}/hooks/email/6b04d1aa0000000000000001?secret=TOPSECRET123", timeout=5)
        wait_until(lambda: "/hooks/email/" in log.read_text(), timeout=10, what="the access log line")
    finally:
        web.terminate()
        web.wait(timeout=10)
    time.sleep(0.1)
    text = log.read_text()
    assert "POST /hooks/email/6b04d1aa0000000000000001 HTTP/1.1" in text
    assert "TOPSECRET123" not in text and "secret=" not in text
