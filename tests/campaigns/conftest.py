"""Campaign tests: a workspace with relay lines (mocked with `responses`) and helpers that run the engine as
beat and the worker would — one sweep, then each created message through the real send path."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from campaigns.engine import sweep_due_enrollments
from campaigns.models import Campaign, Enrollment
from messaging.inbound.store import inbound_store
from messaging.models import Message, Status
from messaging.send.dispatcher import send_message
from tests.factories import DeviceFactory, LeadFactory, LineFactory

_guids = itertools.count(1)


def relay_url(n: int) -> str:
    return f"http://relay-{n}.campaign.test:8765"


@pytest.fixture
def lines(workspace: Any) -> list[Any]:
    """Two lines on two Macs (each its own relay URL), no gaps."""
    made = []
    for n in (1, 2):
        device = DeviceFactory(workspace=workspace, relay_url=relay_url(n), relay_password="pw", device_gap_seconds=0)
        made.append(LineFactory(workspace=workspace, device=device, phone=f"+1415555010{n}", contact_gap_seconds=0,
                                first_name="Line", last_name=str(n)))
    return made


def create_campaign(api: Any, **body: Any) -> dict[str, Any]:
    payload = {"name": "Spring outreach", "steps": [{"message": "Hi {firstName|there}, this is {line_name}"}], **body}
    response = api.post("/api/campaigns", payload, format="json")
    assert response.status_code == 201, response.content
    return response.json()["campaign"]


def launch(api: Any, campaign_id: str) -> None:
    response = api.post(f"/api/campaigns/{campaign_id}/launch", format="json")
    assert response.status_code == 200, response.content


def add_lead(api: Any, campaign_id: str, **lead: Any) -> dict[str, Any]:
    response = api.post(f"/api/campaigns/{campaign_id}/leads", {"lead": lead}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def enroll(api: Any, workspace: Any, campaign_id: str, n: int = 1, **lead_fields: Any) -> list[Any]:
    leads = [LeadFactory(workspace=workspace, **lead_fields) for _ in range(n)]
    for lead in leads:
        response = api.post(f"/api/campaigns/{campaign_id}/leads", {"leadId": lead.pk}, format="json")
        assert response.status_code == 200 and response.json()["messageCount"] >= 1, response.content
    return leads


def sweep() -> dict[str, int]:
    return sweep_due_enrollments()


def step_messages(campaign_id: str, step: int | None = None) -> list[Message]:
    messages = Message.objects.filter(campaign_id=campaign_id).order_by("created_at", "id")
    return list(messages if step is None else messages.filter(step_index=step))


def send_all(campaign_id: str) -> list[str]:
    """Every claimable message of the campaign through the send path (as a worker would)."""
    return [send_message(m.pk) for m in Message.objects.filter(campaign_id=campaign_id,
                                                               status__in=(Status.PENDING, Status.QUEUED))]


def reply(workspace: Any, line: Any, address: str, text: str = "Tell me more") -> str:
    return inbound_store(workspace_id=workspace.pk, line=line, raw_address=address, text=text,
                         external_id=f"IN-{next(_guids)}", message_type="imessage")


def enrollment_of(campaign_id: str, lead: Any) -> Enrollment:
    return Enrollment.objects.get(campaign_id=campaign_id, lead=lead)


def campaign_row(campaign_id: str) -> Campaign:
    return Campaign.objects.get(pk=campaign_id)


class Relays:
    """The two Macs, mocked: every send is recorded per relay; `fail_next[n]` sends answer an ambiguous 500
    (the device is then asked, and has nothing: not sent)."""

    def __init__(self, mock: Any) -> None:
        import json as _json
        import uuid

        from tests.messaging.relay_mocks import bb_message

        self.sent: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
        self.fail_next: dict[int, int] = {1: 0, 2: 0}

        def on_send(n: int) -> Any:
            def callback(request: Any) -> tuple[int, dict[str, str], str]:
                body = _json.loads(request.body)
                if self.fail_next[n] > 0:
                    self.fail_next[n] -= 1
                    error = {"type": "iMessage Error",
                             "message": "Failed to send message! See attached message error code."}
                    return 500, {}, _json.dumps({"status": 500, "message": "Message Send Error", "error": error})
                address = body["chatGuid"].split(";-;", 1)[1]
                row = bb_message(guid=str(uuid.uuid4()).upper(), text=body["message"], address=address,
                                 tempGuid=body["tempGuid"])
                self.sent[n].append({"address": address, "text": body["message"]})
                return 200, {}, _json.dumps({"status": 200, "message": "Message sent!", "data": row})
            return callback

        for n in (1, 2):
            mock.add_callback("POST", f"{relay_url(n)}/api/v1/message/text", callback=on_send(n),
                              content_type="application/json")
            mock.post(f"{relay_url(n)}/api/v1/message/query", json={
                "status": 200, "message": "Successfully fetched messages!", "data": [],
                "metadata": {"offset": 0, "limit": 100, "total": 0, "count": 0}})

    def texts(self, n: int) -> list[str]:
        return [row["text"] for row in self.sent[n]]


@pytest.fixture
def relays() -> Any:
    import responses

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield Relays(mock)


def verify_not_sent(message: Message) -> str:
    """The ambiguous send's verification window closes with nothing found on the device."""
    from datetime import timedelta

    from django.utils import timezone

    from messaging.models import SendAttempt
    from messaging.send.outcomes import verify_once

    attempt = SendAttempt.objects.filter(message=message).order_by("-id").first()
    SendAttempt.objects.filter(pk=attempt.pk).update(verify_until=timezone.now() - timedelta(seconds=1))
    return verify_once(message.pk, attempt.pk)
