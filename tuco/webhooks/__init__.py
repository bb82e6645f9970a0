"""Outgoing webhooks: endpoints, the outbox, signed delivery with retries, and their API."""

# Register the Celery tasks in every process that loads the models (worker and beat
# included): celery's autodiscovery only looks at `<app>.tasks`, i.e. tuco.tasks.
from tuco.webhooks import tasks as _tasks  # noqa: F401
