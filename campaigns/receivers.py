"""What the send path tells campaigns (messaging.signals), applied inside the transaction that records it.

- A step's message left the queue: sent (or delivered) → the next step is due `wait` after that actual
  send, or the lead is done; failed / fallback / cancelled → the lead stops, saying which.
- A reply from an enrolled lead: with `stop_on_reply` (the default) its remaining steps stop at once,
  a step message already created but not yet claimed included; an opt-out always stops.
"""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver
from django.utils import timezone

from campaigns.engine import step_wait, stop
from campaigns.models import Campaign, Enrollment, Step
from messaging.models import CLAIMABLE, Message, Status
from messaging.send import state
from messaging.signals import message_left_queue, reply_stored
from tuco.logging import get_logger

log = get_logger(__name__)

ACTIVE_STATES = (Enrollment.State.SCHEDULED, Enrollment.State.SENDING, Enrollment.State.HELD)
STOP_FOR_STATUS = {Status.FAILED: "failed", Status.FALLBACK: "fallback", Status.CANCELLED: "cancelled"}


@receiver(message_left_queue, dispatch_uid="campaigns.step_left_queue")
def step_left_queue(sender: Any, message: Message, previous: str, **_: Any) -> None:
    if not message.enrollment_id:
        return
    enrollment = (Enrollment.objects.select_for_update().select_related("campaign")
                  .filter(pk=message.enrollment_id, message_id=message.pk, state=Enrollment.State.SENDING).first())
    if enrollment is None:
        return  # stopped meanwhile (a reply, a pause that archived it), or not its current step
    now = timezone.now()
    if message.status in (Status.SENT, Status.DELIVERED):
        sent_at = message.sent_at or message.delivered_at or now
        following = Step.objects.filter(campaign_id=enrollment.campaign_id, index=message.step_index + 1).first()
        fields: dict[str, Any] = {"last_sent_at": sent_at, "updated_at": now}
        if enrollment.line_id is None:
            fields["line_id"] = message.line_id  # sticky: later steps go from the line it heard from
        if following is None:
            fields.update(state=Enrollment.State.COMPLETED, next_at=None)
        else:
            held = enrollment.campaign.status != Campaign.Status.ACTIVE
            fields.update(state=Enrollment.State.HELD if held else Enrollment.State.SCHEDULED,
                          next_step=following.index, next_at=sent_at + step_wait(following))
        Enrollment.objects.filter(pk=enrollment.pk).update(**fields)
        return
    reason = "opted_out" if message.error_code == "DNC_BLOCKED" else STOP_FOR_STATUS.get(message.status, message.status)
    stop(enrollment, reason, now)


@receiver(reply_stored, dispatch_uid="campaigns.lead_replied")
def lead_replied(sender: Any, message: Message, opted_out: bool, **_: Any) -> None:
    if not message.lead_id:
        return
    now = timezone.now()
    enrollments = list(Enrollment.objects.select_for_update().select_related("campaign")
                       .filter(lead_id=message.lead_id, state__in=ACTIVE_STATES,
                               campaign__workspace_id=message.workspace_id))
    for enrollment in enrollments:
        if enrollment.replied_at is None:
            Enrollment.objects.filter(pk=enrollment.pk).update(replied_at=now)
        if opted_out or enrollment.campaign.reply_behavior == Campaign.ReplyBehavior.STOP_ON_REPLY:
            stop(enrollment, "opted_out" if opted_out else "replied", now)
            if enrollment.message_id:
                # Created but not claimed yet: it will not go. (One already sending cannot be called back.)
                state.transition(enrollment.message_id, to=Status.CANCELLED, allowed_from=CLAIMABLE,
                                 reason="campaign_stopped_by_reply", fields={"queued_reason": ""})
