"""POST /api/fallback-sms: POST /api/messages with forceFallback, as SMS, answered in the request (always 200)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import pytest
import responses

from leads.dnc import dnc_add
from lines.models import LineDailyUsage
from messaging.models import Message, SendAttempt
from messaging.send.dispatcher import send_message
from tests.factories import LeadFactory, LineFactory
from tests.fallback.factories import FROM_NUMBER, TWILIO_MESSAGES_URL, twilio_error, twilio_message
from tuco.models import Workspace

pytestmark = pytest.mark.django_db

URL = "/api/fallback-sms"
PHONE = "+12025550191"


def _post(api: Any, **body: Any) -> Any:
    return api.post(URL, {"message": "Your order shipped", **body}, format="json")


@responses.activate
def test_the_sms_goes_out_through_twilio_in_the_request(api, twilio_config, workspace) -> None:
    line = LineFactory(workspace=workspace)  # present, but an SMS never uses a line
    responses.post(TWILIO_MESSAGES_URL, json=twilio_message(sid="SMfb01", to=PHONE), status=201)
    response = _post(api, recipientPhone=PHONE, recipientName="Ada Lovelace", batchId="b-7", correlationId="corr-9")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["success"] is True and body["status"] == "fallback"
    document = body["message"]
    assert document["messageType"] == "sms" and document["forceFallback"] is True
    assert document["fallbackSmsStatus"] == "sent" and document["fallbackProvider"] == "twilio"
    assert document["fallbackExternalId"] == "SMfb01" and document["fromLineId"] is None
    assert (document["batchId"], document["correlationId"], document["recipientName"]) == (
        "b-7", "corr-9", "Ada Lovelace")
    assert body["leadId"] == document["leadId"] is not None
    form = parse_qs(responses.calls[0].request.body)
    assert (form["To"], form["From"], form["Body"]) == ([PHONE], [FROM_NUMBER], ["Your order shipped"])
    assert len(responses.calls) == 1
    assert not LineDailyUsage.objects.filter(line=line).exists()
    assert SendAttempt.objects.get(message_id=document["_id"]).channel == "twilio"
    assert send_message(document["_id"]) == "gone"  # a late worker wake-up sends nothing again


@responses.activate
def test_a_lead_is_texted_on_its_phone(api, twilio_config, workspace) -> None:
    lead = LeadFactory(workspace=workspace, phone="+12025550192", first_name="Grace")
    responses.post(TWILIO_MESSAGES_URL, json=twilio_message(to="+12025550192"), status=201)
    body = _post(api, leadId=lead.pk, message="Hi {{firstName}}").json()
    assert body["success"] is True and body["leadId"] == lead.pk
    form = parse_qs(responses.calls[0].request.body)
    assert (form["To"], form["Body"]) == (["+12025550192"], ["Hi Grace"])


def test_without_a_fallback_configuration_it_is_forcefallbacks_failure(api) -> None:
    response = _post(api, recipientPhone=PHONE)
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is False and body["status"] == "fallback"
    assert body["error"].startswith("fallback:") and body["code"] == "FALLBACK_NOT_CONFIGURED"
    assert body["channel"] == "fallback"
    assert body["message"]["fallbackSmsStatus"] == "failed"
    assert Message.objects.get(pk=body["message"]["_id"]).fallback_sms_status == "failed"


@responses.activate
def test_a_provider_refusal_is_channel_tagged(api, twilio_config) -> None:
    responses.post(TWILIO_MESSAGES_URL, status=400,
                   json=twilio_error(21212, "The 'From' number +14155550100 is not a valid phone number."))
    body = _post(api, recipientPhone=PHONE).json()
    assert body["success"] is False and body["channel"] == "twilio"
    assert body["error"].startswith("twilio:") and body["code"] == "TWILIO_21212"
    assert body["message"]["fallbackSmsStatus"] == "failed"


@pytest.mark.parametrize(("body", "status", "answer"), [
    ({"recipientEmail": "ada@example.com"}, 400,
     {"error": "recipientPhone or a leadId with a phone number is required: a fallback SMS goes to a phone",
      "code": "RECIPIENT_REQUIRED"}),
    ({"recipientPhone": "555"}, 400, None),
    ({"recipientPhone": PHONE, "message": "x" * 1601}, 400, None),
    ({"recipientPhone": PHONE, "message": ""}, 400, {"error": "Message and attachmentUrls cannot both be empty"}),
])
@responses.activate
def test_invalid_requests_are_400_and_write_nothing(api, twilio_config, body, status, answer) -> None:
    response = _post(api, **body)
    assert response.status_code == status, response.content
    if answer is not None:
        assert response.json() == answer
    assert not Message.objects.exists() and len(responses.calls) == 0


@responses.activate
def test_a_lead_without_a_phone_is_400(api, twilio_config, workspace) -> None:
    lead = LeadFactory(workspace=workspace, phone="", email="nophone@example.com")
    response = _post(api, leadId=lead.pk)
    assert response.status_code == 400 and response.json()["code"] == "RECIPIENT_REQUIRED"
    assert not Message.objects.exists() and len(responses.calls) == 0


@responses.activate
def test_fields_that_make_no_sense_for_an_sms_now_are_ignored(api, twilio_config, workspace) -> None:
    email_line = LineFactory(workspace=workspace, device=None, channel_type="email", phone="", email="s@tuco.test")
    responses.post(TWILIO_MESSAGES_URL, json=twilio_message(to=PHONE), status=201)
    body = _post(api, recipientPhone=PHONE, messageType="email", fromLineId=email_line.pk,
                 scheduledDate="2099-01-01T00:00:00Z", forceFallback=False).json()
    assert body["success"] is True and body["status"] == "fallback"
    assert body["message"]["messageType"] == "sms" and body["message"]["scheduledDate"] is None
    assert len(responses.calls) == 1


@responses.activate
def test_a_duplicate_is_not_texted_twice(api, twilio_config) -> None:
    responses.post(TWILIO_MESSAGES_URL, json=twilio_message(to=PHONE), status=201)
    first = _post(api, recipientPhone=PHONE)
    second = _post(api, recipientPhone=PHONE)
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json()["duplicateOnly"] is True
    assert second.json()["message"]["_id"] == first.json()["message"]["_id"]
    assert len(responses.calls) == 1 and Message.objects.count() == 1


@responses.activate
def test_idempotency_key_replays_without_texting_again(api, twilio_config) -> None:
    responses.post(TWILIO_MESSAGES_URL, json=twilio_message(to=PHONE), status=201)
    body = {"message": "keyed", "recipientPhone": PHONE}
    first = api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="sms-1")
    again = api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="sms-1")
    assert again.content == first.content and again["Idempotent-Replayed"] == "true"
    assert len(responses.calls) == 1


@responses.activate
def test_do_not_contact_blocks_it(api, twilio_config, workspace) -> None:
    dnc_add(workspace=workspace, address=PHONE, reason="manual")
    body = _post(api, recipientPhone=PHONE).json()
    assert body["success"] is False and body["code"] == "DNC_BLOCKED" and body["status"] == "failed"
    assert len(responses.calls) == 0


def test_a_past_due_workspace_cannot_send(api, workspace) -> None:
    Workspace.objects.filter(pk=workspace.pk).update(billing_status="past_due")
    response = _post(api, recipientPhone=PHONE)
    assert response.status_code == 402 and response.json()["code"] == "READ_ONLY"
    assert not Message.objects.exists()


def test_the_schema_documents_the_endpoint(client) -> None:
    schema = client.get("/api/schema", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"][URL]["post"]
    assert operation["operationId"] == "fallback_sms_send"
    assert {"200", "400", "401", "402", "429"} <= set(operation["responses"]) and "201" not in operation["responses"]
    request = schema["components"]["schemas"][
        operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]]
    assert set(request["properties"]) == {"message", "recipientPhone", "leadId", "recipientName", "correlationId",
                                          "batchId", "attachmentUrls"}


@responses.activate
def test_the_request_makes_one_provider_call_and_hands_the_retries_to_a_worker(api, twilio_config, monkeypatch,
                                                                               django_capture_on_commit_callbacks):
    """A web worker is held for one provider call at most (issue: up to 37 s before): a retryable failure
    answers at once, the fallback goes back to `pending` and a worker retries it, still at most once."""
    from messaging.send import fallback, wake

    monkeypatch.setattr(fallback, "RETRY_DELAYS_SECONDS", (0.0, 0.0))
    published: list[tuple[str, tuple[Any, ...]]] = []
    monkeypatch.setattr(wake, "publish", lambda name, *args, **_: published.append((name, args)))
    responses.post(TWILIO_MESSAGES_URL, status=503, json=twilio_error(20503, "Service unavailable"))
    body = _post(api, recipientPhone=PHONE).json()
    assert len(responses.calls) == 1  # one try in the request, not MAX_TRIES
    assert body["success"] is False and body["retrying"] is True and body["code"] == "TWILIO_20503"
    assert "Retrying in the background" in body["error"]
    message_id = body["message"]["_id"]
    assert body["message"]["fallbackSmsStatus"] == "pending"
    assert published == [(wake.FALLBACK_SMS, (message_id, "force_fallback"))]

    responses.replace(responses.POST, TWILIO_MESSAGES_URL, json=twilio_message(sid="SMlater", to=PHONE), status=201)
    outcome = fallback.fallback_sms_send(message_id=message_id, reason="force_fallback")  # what the worker runs
    assert outcome.sent and outcome.external_id == "SMlater"
    assert Message.objects.get(pk=message_id).fallback_sms_status == "sent"
    assert not fallback.fallback_sms_send(message_id=message_id, reason="force_fallback").claimed  # once
