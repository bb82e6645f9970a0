"""Root pytest configuration: test engines are the machine's PostgreSQL and Redis."""

from __future__ import annotations

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tuco")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("TUCO_LOG_LEVEL", "WARNING")


def pytest_configure(config: object) -> None:
    from tests.services import ensure_postgres, ensure_redis

    ensure_postgres(os.environ["DATABASE_URL"])
    ensure_redis(os.environ["REDIS_URL"])
