"""Make sure the PostgreSQL and Redis the tests talk to are answering; start them if not.

Tests never skip for a missing service: the machine's services are started with
the commands DEVELOPERS.md gives.
"""

from __future__ import annotations

import glob
import os
import socket
import subprocess
import time
from urllib.parse import urlsplit

PG_START = "pg_ctlcluster --skip-systemctl-redirect {version} main start"
REDIS_START = ("redis-server --daemonize yes --bind 127.0.0.1 -::1 --port {port} --save '' --appendonly no "
               "--dir /var/lib/redis --logfile /var/log/redis/ci.log")


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _wait(host: str, port: int, what: str) -> None:
    deadline = time.monotonic() + 30
    while not _answers(host, port):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} at {host}:{port} did not start")
        time.sleep(0.3)


def ensure_postgres(url: str) -> None:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 5432
    if host.startswith("/") or _answers(host, port):
        return
    versions = sorted(os.path.basename(p) for p in glob.glob("/etc/postgresql/*"))
    if not versions:
        raise RuntimeError("PostgreSQL is not answering and no cluster is installed under /etc/postgresql")
    subprocess.run(PG_START.format(version=versions[-1]), shell=True, check=False)
    _wait(host, port, "PostgreSQL")


def ensure_redis(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return
    host, port = parts.hostname or "127.0.0.1", parts.port or 6379
    if _answers(host, port):
        return
    os.makedirs("/var/lib/redis", exist_ok=True)
    os.makedirs("/var/log/redis", exist_ok=True)
    subprocess.run(REDIS_START.format(port=port), shell=True, check=False)
    _wait(host, port, "Redis")
