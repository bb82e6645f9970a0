"""Where the send path hands over to the fallback policy (spec: the fallback scenario table).

A fallback that should fire is first marked `fallback_sms_status = pending` on
the row — durable, in the caller's transaction — and only then handed to a
worker. If the broker loses the task, the pending-fallbacks sweep finds it.
The dispatch itself (`fallback.services.fallback_dispatch`) is exactly-once.
"""

from __future__ import annotations

from django.db import transaction

from fallback.models import FallbackConfig
from fallback.services import fallback_policy
from messaging.models import FallbackStatus, Message
from tuco.logging import get_logger

log = get_logger(__name__)


def request_fallback(message: Message, *, reason: str) -> bool:
    """If the policy says so, mark the fallback pending and wake a worker after commit."""
    config = FallbackConfig.objects.filter(workspace_id=message.workspace_id).first()
    if not fallback_policy(message, config):
        log.info("fallback.not_requested", messageId=message.pk, status=message.status, reason=reason,
                 configured=bool(config and config.is_configured), correlationId=message.correlation_id)
        return False
    if not Message.objects.filter(pk=message.pk, fallback_sms_status="").update(
            fallback_sms_status=FallbackStatus.PENDING):
        return False
    log.info("fallback.requested", messageId=message.pk, reason=reason, correlationId=message.correlation_id)
    transaction.on_commit(lambda: enqueue_fallback(message.pk, reason))
    return True


def enqueue_fallback(message_id: str, reason: str) -> None:
    from messaging.tasks import dispatch_fallback

    try:
        dispatch_fallback.apply_async(args=[message_id, reason])
    except Exception as exc:  # broker down: the pending-fallbacks sweep picks it up
        log.warning("fallback.enqueue_failed", messageId=message_id, error=str(exc))


def after_failure(message: Message) -> None:
    """Status `failed`: fallback fires when the message's (or the workspace's) flag is on and it is configured."""
    request_fallback(message, reason="failed")


def after_unavailable(message: Message) -> None:
    """Status `fallback`: the recipient has no iMessage; fallback fires whenever one is configured."""
    request_fallback(message, reason="imessage_unavailable")
