"""Cancelling a message that has not been sent."""

from __future__ import annotations

from django.utils import timezone

from messaging.models import CLAIMABLE, Message, Status
from messaging.selectors import message_get
from messaging.send import state
from messaging.send.pacing import wake_line_busy
from tuco.errors import Conflict
from tuco.models import Workspace


def message_cancel(*, workspace: Workspace, message_id: str, reason: str) -> Message:
    message = message_get(workspace=workspace, message_id=message_id)
    updated = state.transition(message.pk, to=Status.CANCELLED, allowed_from=CLAIMABLE,
                               reason=f"cancelled_by_{reason}", fields={"queued_reason": ""})
    if updated is None:
        current = Message.objects.only("status").get(pk=message.pk).status
        raise Conflict(f"Message cannot be cancelled: its status is '{current}' "
                       "(only queued, pending or scheduled messages can be cancelled)",
                       code="MESSAGE_NOT_CANCELLABLE", currentStatus=current)
    if updated.line_id:
        wake_line_busy(line_id=updated.line_id, at=timezone.now())  # a newer message may have yielded to it
    return updated


def campaign_messages_cancel(*, campaign_id: str, reason: str) -> int:
    """Every created-but-unsent message of a campaign (archived: nothing more goes out), one transition each
    so each has its timeline entry and its campaign hears of it. Returns how many were cancelled."""
    cancelled = 0
    pending = Message.objects.filter(campaign_id=campaign_id, status__in=CLAIMABLE).values_list("id", flat=True)
    for message_id in list(pending):
        updated = state.transition(message_id, to=Status.CANCELLED, allowed_from=CLAIMABLE,
                                   reason=f"cancelled_by_{reason}", fields={"queued_reason": ""})
        cancelled += updated is not None
    return cancelled
