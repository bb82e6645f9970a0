"""Beat sweeps: due rows are re-enqueued once per lease; stuck `sending` rows are verified, not resent."""

from __future__ import annotations

from datetime import timedelta

import pytest
import responses
from django.utils import timezone

from messaging.models import Message, SendAttempt, Status
from messaging.send.state import claim_due_batch
from messaging.send.worker import sweep_stuck_sending
from tests.factories import DeviceFactory, LineFactory, MessageFactory
from tests.messaging.relay_mocks import RELAY, bb_message, query_returns

pytestmark = pytest.mark.django_db


def test_due_batch_takes_due_rows_once_per_lease(workspace) -> None:
    now = timezone.now()
    due = [MessageFactory(workspace=workspace, status=s, next_attempt_at=now - timedelta(seconds=i))
           for i, s in enumerate([Status.PENDING, Status.QUEUED, Status.SCHEDULED])]
    MessageFactory(workspace=workspace, status=Status.QUEUED, next_attempt_at=now + timedelta(minutes=5))
    MessageFactory(workspace=workspace, status=Status.SENT, next_attempt_at=now - timedelta(minutes=5))
    ids = claim_due_batch(now=now, batch_size=100)
    assert ids == [m.pk for m in due]  # creation order: per-line FIFO
    assert claim_due_batch(now=now, batch_size=100) == []  # leased
    assert set(claim_due_batch(now=now + timedelta(seconds=61), batch_size=100)) == {m.pk for m in due}


@responses.activate
def test_stuck_sending_row_is_verified_and_found_sent(workspace, settings) -> None:
    settings.TUCO_SENDING_STUCK_SECONDS = 5
    settings.TUCO_RELAY_TIMEOUT_SECONDS = 5
    device = DeviceFactory(workspace=workspace, relay_url=RELAY)
    line = LineFactory(workspace=workspace, device=device)
    long_ago = timezone.now() - timedelta(seconds=60)
    message = MessageFactory(workspace=workspace, line=line, status=Status.SENDING, sending_since=long_ago,
                             attempt_count=1, body="killed mid-send")
    SendAttempt.objects.create(message=message, number=1, line=line, started_at=long_ago, temp_guid="t",
                               to_address=message.send_to_address, request_summary={"text": "killed mid-send"})
    query_returns([bb_message(guid="FOUND", text="killed mid-send", address=message.send_to_address,
                              date_created=int(long_ago.timestamp() * 1000) + 500)])
    assert sweep_stuck_sending() == 1
    message.refresh_from_db()
    assert message.status == "sent" and message.external_message_id == "FOUND"


@responses.activate
def test_stuck_sending_row_not_on_the_device_goes_back_to_retry(workspace, settings) -> None:
    settings.TUCO_SENDING_STUCK_SECONDS = 5
    settings.TUCO_RELAY_TIMEOUT_SECONDS = 5
    device = DeviceFactory(workspace=workspace, relay_url=RELAY)
    line = LineFactory(workspace=workspace, device=device)
    long_ago = timezone.now() - timedelta(seconds=60)
    message = MessageFactory(workspace=workspace, line=line, status=Status.SENDING, sending_since=long_ago,
                             attempt_count=1)
    SendAttempt.objects.create(message=message, number=1, line=line, started_at=long_ago, temp_guid="t",
                               to_address=message.send_to_address, request_summary={"text": message.body})
    query_returns([])
    sweep_stuck_sending()
    message.refresh_from_db()
    assert message.status == "queued" and message.queued_reason == "retry_wait"


def test_recently_claimed_rows_are_not_stuck(workspace) -> None:
    MessageFactory(workspace=workspace, status=Status.SENDING, sending_since=timezone.now())
    assert sweep_stuck_sending() == 0
    assert Message.objects.get().status == "sending"
