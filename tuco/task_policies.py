"""Options shared by Celery tasks, kept apart from tuco.celery so task modules import no app."""

from __future__ import annotations

from django.db import InterfaceError, OperationalError

# For tasks that touch the database: when it drops their connection (a PostgreSQL restart, a failover,
# a killed backend) the try fails, Django marks the connection broken, and the retry a second or so later
# runs on a fresh one (tuco.celery replaces broken connections before each task). Without this a row that
# failed before its claim would wait for the sweep's lease (one that failed after it is `sending`, and the
# stuck-sending sweep verifies it). Every task given it is safe to repeat: its work starts with a guarded
# claim (message dispatch, verification, fallback, webhook delivery).
RETRY_ON_LOST_DATABASE = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 1,
    "retry_backoff_max": 30,
    "retry_jitter": True,
    "max_retries": 5,
}
