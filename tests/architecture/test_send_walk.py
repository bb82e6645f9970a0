"""A walk of one send enters each layer once and never calls back into a file on its stack.

Three sends, each traced from the worker's first call: a plain iMessage (sent), an unknown outcome
verified on the device (sent), and a recipient without iMessage whose fallback SMS goes out. The
figures are printed (docs/architecture.md quotes them); the guard is "no call-backs".
"""

from __future__ import annotations

import importlib
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from messaging.models import Message, SendAttempt
from messaging.send.dispatcher import send_message
from messaging.send.outcome import individual_policy
from messaging.send.outcomes import verify_once
from messaging.tasks import send_fallback_sms
from tests.architecture.graph import load
from tests.architecture.walk import Walk, walk
from tests.factories import DeviceFactory, LineFactory
from tests.fallback.factories import TWILIO_MESSAGES_URL, FallbackConfigFactory, twilio_message
from tests.messaging.relay_mocks import RELAY, bb_message, query_returns, relay_accepts_everything, send_status

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True, scope="module")
def _every_module_imported() -> None:
    """First imports run module and class bodies: not steps of a send, so they happen before the walk."""
    for name in load():
        importlib.import_module(name)


def _create(api: Any, **body: Any) -> Message:
    response = api.post("/api/messages", {"message": "hi", "recipientPhone": "+12025551234", **body}, format="json")
    assert response.status_code == 201, response.content
    return Message.objects.get(pk=response.json()["message"]["_id"])


def _report(name: str, traced: Walk) -> None:
    print(f"\nwalk[{name}]: {len(traced.files)} files, {traced.callback_count} call-backs, "
          f"{traced.reentries} re-entries")
    for caller, callee in traced.callbacks:
        print(f"  call-back {caller} -> {callee}")
    for path in traced.files:
        print(f"  enters {path}")


@responses.activate
def test_a_plain_imessage_send(api, workspace) -> None:
    device = DeviceFactory(workspace=workspace, relay_url=RELAY)
    LineFactory(workspace=workspace, device=device)
    relay_accepts_everything()
    message = _create(api)
    with walk() as traced:
        assert send_message(message.pk) == "sent"
    _report("imessage", traced)
    assert traced.files


@responses.activate
def test_an_unknown_outcome_verified_on_the_device(api, workspace) -> None:
    device = DeviceFactory(workspace=workspace, relay_url=RELAY)
    LineFactory(workspace=workspace, device=device)
    message = _create(api)
    send_status(500, "Failed to send message! See attached message error code.")
    query_returns([bb_message(guid="GUID-801", text="hi", address="+12025551234")])
    with walk() as traced:
        assert send_message(message.pk) == "verifying"
        attempt = SendAttempt.objects.get(message=message)
        assert verify_once(message.pk, attempt.pk, policy=individual_policy()) == "sent"
    _report("verified", traced)
    assert Message.objects.get(pk=message.pk).status == "sent"


@responses.activate
def test_no_imessage_then_the_fallback_sms(api, workspace, settings) -> None:
    settings.TUCO_AVAILABILITY_GAP_SECONDS = 0
    device = DeviceFactory(workspace=workspace, relay_url=RELAY, private_api=True)
    LineFactory(workspace=workspace, device=device, availability_daily_cap=70)
    FallbackConfigFactory(workspace=workspace)

    def unavailable(request: Any) -> tuple[int, dict[str, str], str]:
        assert parse_qs(urlsplit(request.url).query)["address"]
        return 200, {}, json.dumps({"status": 200, "message": "Success", "data": {"available": False}})

    responses.add_callback(responses.GET, f"{RELAY}/api/v1/handle/availability/imessage", callback=unavailable)
    responses.post(TWILIO_MESSAGES_URL, json=twilio_message(to="+12025551234"), status=201)
    message = _create(api)
    with walk() as traced:
        assert send_message(message.pk) == "fallback"
        send_fallback_sms.run(message.pk, "imessage_unavailable")
    _report("fallback", traced)
    assert Message.objects.get(pk=message.pk).fallback_sms_status == "sent"


@responses.activate
def test_a_relay_that_refuses_the_password(api, workspace) -> None:
    device = DeviceFactory(workspace=workspace, relay_url=RELAY)
    LineFactory(workspace=workspace, device=device)
    message = _create(api)
    send_status(401, "Unauthorized", error_type="Authentication Error")
    with walk() as traced:
        assert send_message(message.pk) == "waiting"
    _report("line_fault", traced)
    assert Message.objects.get(pk=message.pk).queued_reason == "line_unhealthy"


@responses.activate
def test_a_rejected_send_fails_and_requests_the_fallback(api, workspace) -> None:
    device = DeviceFactory(workspace=workspace, relay_url=RELAY)
    LineFactory(workspace=workspace, device=device)
    FallbackConfigFactory(workspace=workspace, send_fallback_sms_on_failed=True)
    message = _create(api)
    send_status(400, "Invalid chat guid", error_type="Validation Error")
    with walk() as traced:
        assert send_message(message.pk) == "failed"
    _report("failed", traced)
    assert Message.objects.get(pk=message.pk).fallback_sms_status == "pending"
