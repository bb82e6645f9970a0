"""Liveness and readiness probes (no auth)."""

from __future__ import annotations

import time

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse


def live(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return None
    except Exception as exc:
        return str(exc)


def _check_broker() -> str | None:
    from kombu import Connection

    try:
        with Connection(settings.CELERY_BROKER_URL, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return None
    except Exception as exc:
        return str(exc)


def ready(request: HttpRequest) -> JsonResponse:
    started = time.monotonic()
    checks = {"database": _check_database(), "broker": _check_broker()}
    ok = all(error is None for error in checks.values())
    body = {
        "status": "ok" if ok else "unavailable",
        "checks": {name: ("ok" if error is None else f"error: {error}") for name, error in checks.items()},
        "durationMs": int((time.monotonic() - started) * 1000),
    }
    return JsonResponse(body, status=200 if ok else 503)
