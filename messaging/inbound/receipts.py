"""Delivery receipts the relay's webhooks did not bring.

BlueBubbles posts webhooks once, without retries, and they do go missing
(#758). A message stuck in `sent` is therefore polled: recent iMessages that
were sent but not delivered are looked up by guid on their relay, at most once
per RECHECK_EVERY, for RECONCILE_WINDOW after sending. The answer goes through
the same normalizer and handler as a webhook, so the rules (furthest status wins, device
errors retried) are identical.
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from lines.models import Line
from lines.relay.client import relay_for_device
from messaging.inbound.bluebubbles import polled_row_event
from messaging.inbound.tracking import relay_event_apply
from messaging.models import Direction, Message, MessageType, Status
from messaging.send import state
from tuco.logging import get_logger
from tuco.send_errors import SendError

log = get_logger(__name__)

SETTLE = timedelta(seconds=60)  # give the webhook a chance first
RECHECK_EVERY = timedelta(minutes=5)
RECONCILE_WINDOW = timedelta(hours=48)


def reconcile_receipts(*, now=None, limit: int = 100) -> dict[str, int]:
    now = now or timezone.now()
    due = list(
        Message.objects.select_related("line__device")
        .filter(status=Status.SENT, direction=Direction.OUTBOUND, message_type=MessageType.IMESSAGE,
                sent_at__lte=now - SETTLE, sent_at__gte=now - RECONCILE_WINDOW, line__device__isnull=False)
        .exclude(external_message_id="")
        .filter(Q(receipt_checked_at__isnull=True) | Q(receipt_checked_at__lte=now - RECHECK_EVERY))
        .order_by("receipt_checked_at", "sent_at")[:limit]
    )
    counts = {"checked": 0, "changed": 0, "unreachable": 0}
    for message in due:
        state.mark_receipt_checked(message.pk, now)
        line: Line = message.line
        try:
            row = relay_for_device(line.device, line_id=line.pk).get_message(guid=message.external_message_id)
        except SendError as exc:
            counts["unreachable"] += 1
            log.info("receipts.relay_unreachable", messageId=message.pk, error=str(exc))
            continue
        counts["checked"] += 1
        if row is None:
            continue
        event = polled_row_event(row)
        result = relay_event_apply(line=line, event=event) if event is not None else "ignored"
        if result not in ("noop", "ignored", "unknown", "not_confirmed"):
            counts["changed"] += 1
            log.info("receipts.reconciled", messageId=message.pk, result=result,
                     correlationId=message.correlation_id)
    return counts
