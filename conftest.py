"""Root pytest configuration: the engines are the machine's PostgreSQL and Redis (see tuco.test_settings)."""

from __future__ import annotations

import os


def pytest_configure(config: object) -> None:
    from tests.services import ensure_postgres, ensure_redis

    ensure_postgres(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tuco"))
    ensure_redis(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"))
    worker = getattr(config, "workerinput", {}).get("workerid")
    if worker:
        _own_redis_db(int(worker.removeprefix("gw")))


def _own_redis_db(index: int) -> None:
    """Parallel workers (pytest-xdist) each get a Redis db of their own, since tests clear it freely.
    (The test database is per worker already: pytest-django suffixes its name.)"""
    from django.conf import settings

    base, _, db = settings.REDIS_URL.rpartition("/")
    if not db.isdigit():
        return
    url = f"{base}/{(int(db) - index) % 16}"
    settings.REDIS_URL = url
    settings.CACHES["default"]["LOCATION"] = url
    settings.CELERY_BROKER_URL = url
