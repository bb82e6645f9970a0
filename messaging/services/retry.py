"""Retrying a failed message (operator action): a fresh set of attempts through the normal path."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from messaging.models import Message, Status
from messaging.selectors import message_get
from messaging.send import state
from messaging.send.worker import enqueue_dispatch
from tuco.errors import Conflict
from tuco.models import Workspace


def message_retry(*, workspace: Workspace, message_id: str, reason: str = "operator") -> Message:
    """failed → pending with the attempt counter reset; the dispatcher takes it from there."""
    message = message_get(workspace=workspace, message_id=message_id)
    now = timezone.now()
    with transaction.atomic():
        updated = state.transition(
            message.pk, to=Status.PENDING, allowed_from=(Status.FAILED,), reason=f"retry_by_{reason}",
            fields={"attempt_count": 0, "error": "", "error_code": "", "queued_reason": "", "next_attempt_at": now,
                    "enqueued_at": None, "sending_since": None},
            now=now,
        )
        if updated is None:
            raise Conflict(f"Only failed messages can be retried (status is '{message.status}')",
                           code="MESSAGE_NOT_RETRYABLE")
        transaction.on_commit(lambda: enqueue_dispatch(message.pk))
    return updated
