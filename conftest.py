"""Root pytest configuration: the engines are the machine's PostgreSQL and Redis (see tuco.test_settings)."""

from __future__ import annotations

import os


def pytest_configure(config: object) -> None:
    from tests.services import ensure_postgres, ensure_redis

    ensure_postgres(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tuco"))
    ensure_redis(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"))
