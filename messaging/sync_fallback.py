"""In-process send when the broker is unreachable at POST time (spec: "app sync fallback").

The row is already committed, so nothing is lost either way; this only makes
the message go now instead of when the broker is back. It runs the same
dispatcher (same claim, same gates) in a daemon thread: up to
SYNC_FALLBACK_RETRY_ATTEMPTS passes, SYNC_FALLBACK_RETRY_GAP_SECONDS apart,
verifying unknown outcomes in-process. Whatever is left is picked up by the
beat sweep once the broker answers again.
"""

from __future__ import annotations

import threading
import time

from django.db import close_old_connections, connection
from django.utils import timezone

from messaging.models import Message
from messaging.outcomes import sync_policy
from tuco.logging import get_logger

log = get_logger(__name__)

# Waits longer than this are left to the sweep (a web process must not hold threads for hours).
MAX_INLINE_WAIT_SECONDS = 120


def run_sync_fallback(message_id: str) -> str:
    from messaging.sending import send_message

    policy = sync_policy()
    outcome = "gone"
    for attempt in range(1, policy.attempts + 1):
        outcome = send_message(message_id, inline=True, policy=policy)
        log.info("message.sync_fallback.pass", messageId=message_id, attempt=attempt, outcome=outcome)
        if outcome not in ("waiting", "not_due"):
            return outcome
        due = Message.objects.filter(pk=message_id).values_list("next_attempt_at", flat=True).first()
        delay = (due - timezone.now()).total_seconds() if due else policy.gap_seconds
        if delay > MAX_INLINE_WAIT_SECONDS:
            return outcome
        time.sleep(max(0.0, delay) + 0.05)
    return outcome


def start_sync_fallback(message_id: str) -> threading.Thread:
    def run() -> None:
        close_old_connections()
        try:
            run_sync_fallback(message_id)
        except Exception:
            log.exception("message.sync_fallback.crashed", messageId=message_id)
        finally:
            connection.close()

    thread = threading.Thread(target=run, name=f"sync-fallback-{message_id}", daemon=True)
    thread.start()
    log.warning("message.sync_fallback.started", messageId=message_id)
    return thread
