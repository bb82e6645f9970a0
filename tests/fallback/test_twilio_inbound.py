"""SMS replies from Twilio land on the recipient's thread like any reply."""

from __future__ import annotations

import pytest
from django.test import Client
from twilio.request_validator import RequestValidator

from fallback.config import twilio_inbound_url
from leads.models import DncEntry
from messaging.models import Message
from tests.fallback.factories import AUTH_TOKEN, FallbackConfigFactory

pytestmark = pytest.mark.django_db


def _post(workspace_id: str, params: dict[str, str], token: str = AUTH_TOKEN):
    url = twilio_inbound_url(workspace_id)
    signature = RequestValidator(token).compute_signature(url, params)
    return Client().post(f"/hooks/twilio/inbound?ws={workspace_id}", params, HTTP_X_TWILIO_SIGNATURE=signature)


def test_an_sms_reply_joins_the_thread(api, workspace, line) -> None:
    FallbackConfigFactory(workspace=workspace)
    sent = api.post("/api/messages", {"message": "Hello", "recipientPhone": "+12025550001", "messageType": "sms"},
                    format="json").json()["message"]
    response = _post(workspace.pk, {"From": "+12025550001", "To": "+14155550100", "Body": "Sure, call me",
                                    "MessageSid": "SMinbound1"})
    assert response.status_code == 200 and b"<Response>" in response.content
    reply = Message.objects.get(direction="inbound")
    assert reply.thread_id == sent["threadId"] and reply.reply_to_id == sent["_id"]
    assert reply.message_type == "sms" and reply.body == "Sure, call me"
    _post(workspace.pk, {"From": "+12025550001", "Body": "Sure, call me", "MessageSid": "SMinbound1"})
    assert Message.objects.filter(direction="inbound").count() == 1  # Twilio retries are stored once


def test_stop_by_sms_opts_out(workspace) -> None:
    FallbackConfigFactory(workspace=workspace)
    _post(workspace.pk, {"From": "+12025550001", "Body": "STOP", "MessageSid": "SMstop"})
    assert DncEntry.objects.filter(workspace=workspace, address="+12025550001").exists()


def test_bad_signature_is_refused(workspace) -> None:
    FallbackConfigFactory(workspace=workspace)
    response = _post(workspace.pk, {"From": "+12025550001", "Body": "hi", "MessageSid": "SMx"}, token="f" * 32)
    assert response.status_code == 403
    assert not Message.objects.exists()
