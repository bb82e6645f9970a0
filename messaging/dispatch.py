"""Waking workers: enqueue the dispatch task for a committed message.

The database row is the truth; a lost broker message only delays a send until
the beat sweep re-enqueues it. When the broker is unreachable at POST time the
in-process sync fallback sends it (see messaging.sync_fallback).
"""

from __future__ import annotations

from tuco.logging import get_logger

log = get_logger(__name__)


def enqueue_dispatch(message_id: str) -> bool:
    """Publish the dispatch task; on a broker failure start the in-process fallback. Never raises."""
    from messaging.tasks import dispatch_message

    try:
        dispatch_message.apply_async(args=[message_id])
        return True
    except Exception as exc:  # kombu raises several types for "broker down"
        log.warning("message.enqueue_failed", messageId=message_id, error=str(exc))
        from messaging.models import Message
        from messaging.sync_fallback import start_sync_fallback

        # Not enqueued after all (message_create counted it as enqueued): the next sweep may take it.
        try:
            Message.objects.filter(pk=message_id).update(enqueued_at=None)
        except Exception as db_exc:  # the row is committed; the sweep takes it after the lease anyway
            log.warning("message.enqueue_release_failed", messageId=message_id, error=str(db_exc))

        start_sync_fallback(message_id)
        return False
