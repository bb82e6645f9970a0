"""POST /api/unibox/send-reply: a reply on a thread, by threadId or messageId, through the POST /api/messages path."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from leads.dnc import dnc_add
from lines.models import Line
from messaging.models import Direction, Message, MessageEvent, Status, Thread
from messaging.send import state
from messaging.send.dispatcher import send_message
from messaging.send_input import parse_send_request
from messaging.services.create import SendContext, message_create
from messaging.threads import thread_touch
from tests.conftest import client_for
from tests.factories import LeadFactory, LineFactory, WorkspaceFactory
from tuco.models import Workspace
from tuco.services import api_key_create

pytestmark = pytest.mark.django_db

URL = "/api/unibox/send-reply"
PHONE = "+12025550188"


def _send(workspace: Workspace, **body: Any) -> Message:
    request = parse_send_request({"message": "Hi from the API", **body})
    return message_create(workspace=workspace, request=request, context=SendContext(correlation_id="seed")).message


def _receive(thread: Thread, text: str) -> Message:
    thread_touch(workspace_id=thread.workspace_id, address=thread.address, lead_id=thread.lead_id,
                 line_id=thread.line_id, preview=text, direction=Direction.INBOUND, at=timezone.now(),
                 unread_increment=1)
    return Message.objects.create(workspace_id=thread.workspace_id, thread=thread, lead_id=thread.lead_id,
                                  line_id=thread.line_id, direction=Direction.INBOUND, body=text,
                                  status=Status.RECEIVED, send_to_address=thread.address)


class Conversation:
    """A thread started by an API send on `line`, with one inbound reply."""

    def __init__(self, workspace: Workspace, line: Line, *, phone: str = PHONE) -> None:
        self.workspace, self.line = workspace, line
        self.lead = LeadFactory(workspace=workspace, phone=phone, email="lee@example.com")
        self.outbound = _send(workspace, recipientPhone=phone, leadId=self.lead.pk, fromLineId=line.pk)
        for status in (Status.SENDING, Status.SENT):  # it went out: the lead answered it
            assert state.transition(self.outbound.pk, to=status) is not None
        self.thread = Thread.objects.get(pk=self.outbound.thread_id)
        self.inbound = _receive(self.thread, "Sounds good, tell me more")


@pytest.fixture
def conversation(workspace: Workspace, line: Line) -> Conversation:
    LineFactory(workspace=workspace)  # another active line: replies must still come from the thread's
    return Conversation(workspace, line)


def _reply(api: Any, **body: Any) -> Any:
    return api.post(URL, body, format="json")


@pytest.mark.parametrize("target", ["threadId", "inbound messageId", "outbound messageId"])
def test_a_reply_lands_on_the_thread_from_its_line(api, conversation, target) -> None:
    c = conversation
    ids = {"threadId": {"threadId": c.thread.pk}, "inbound messageId": {"messageId": c.inbound.pk},
           "outbound messageId": {"messageId": c.outbound.pk}}[target]
    response = _reply(api, message="Happy to help", **ids)
    assert response.status_code == 201, response.content
    body = response.json()
    reply = Message.objects.get(pk=body["message"]["_id"])
    assert body["success"] is True and body["status"] == "pending" == reply.status
    assert body["threadId"] == c.thread.pk and body["leadId"] == c.lead.pk
    assert body["message"]["threadId"] == c.thread.pk and body["message"]["fromLineId"] == c.line.pk
    assert (reply.thread_id, reply.line_id, reply.line_pinned) == (c.thread.pk, c.line.pk, True)
    assert (reply.send_to_address, reply.lead_id, reply.message_type) == (PHONE, c.lead.pk, "imessage")
    assert reply.direction == Direction.OUTBOUND and reply.correlation_id
    assert MessageEvent.objects.filter(message=reply, reason="created").exists()
    assert Thread.objects.filter(workspace=c.workspace).count() == 1


def test_replies_by_thread_and_by_message_share_one_thread(api, conversation) -> None:
    by_thread = _reply(api, threadId=conversation.thread.pk, message="first").json()
    by_message = _reply(api, messageId=conversation.inbound.pk, message="second").json()
    assert by_thread["threadId"] == by_message["threadId"] == conversation.thread.pk
    assert {by_thread["message"]["fromLineId"], by_message["message"]["fromLineId"]} == {conversation.line.pk}


def test_message_type_defaults_to_the_thread_channel(api, workspace) -> None:
    email_line = LineFactory(workspace=workspace, device=None, phone="", email="sales@tuco.example",
                             channel_type="email")
    email_thread = Thread.objects.get(pk=_send(workspace, recipientEmail="buyer@example.com",
                                               messageType="email").thread_id)
    assert email_thread.line_id == email_line.pk
    lineless = Thread.objects.create(workspace=workspace, address="+12025550189")
    email_reply = _reply(api, threadId=email_thread.pk, message="Re: pricing").json()["message"]
    sms_reply = _reply(api, threadId=lineless.pk, message="Texting you back").json()["message"]
    assert (email_reply["messageType"], email_reply["fromLineId"], email_reply["recipientEmail"]) == (
        "email", email_line.pk, "buyer@example.com")
    assert (sms_reply["messageType"], sms_reply["fromLineId"], sms_reply["recipientPhone"]) == (
        "sms", None, "+12025550189")


def test_an_explicit_message_type_is_honoured_and_the_thread_line_kept_only_when_it_can_carry_it(
        api, conversation) -> None:
    sms = _reply(api, threadId=conversation.thread.pk, message="by text", messageType="sms")
    assert sms.status_code == 201, sms.content
    assert sms.json()["message"]["messageType"] == "sms" and sms.json()["message"]["fromLineId"] is None
    assert sms.json()["threadId"] == conversation.thread.pk


def test_a_message_type_the_thread_cannot_take_is_400_and_writes_nothing(api, conversation) -> None:
    before = Message.objects.count()
    response = _reply(api, threadId=conversation.thread.pk, message="x", messageType="email")
    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR" and "imessage or sms" in response.json()["error"]
    assert _reply(api, threadId=conversation.thread.pk, message="x", messageType="fax").json() == {
        "error": "Invalid messageType. Must be email, sms, or imessage"}
    assert Message.objects.count() == before


def test_an_inactive_thread_line_gives_way_to_another_active_line(api, conversation) -> None:
    Line.objects.filter(pk=conversation.line.pk).update(is_active=False)
    body = _reply(api, threadId=conversation.thread.pk, message="from a spare line").json()
    assert body["message"]["fromLineId"] not in (None, conversation.line.pk)
    assert body["threadId"] == conversation.thread.pk


@pytest.mark.parametrize(("body", "error"), [
    ({"message": "hello"}, "threadId or messageId is required"),
    ({"message": "hello", "threadId": "", "messageId": None}, "threadId or messageId is required"),
    ({"message": "hello", "threadId": "{thread}", "messageId": "{inbound}"}, "Give threadId or messageId, not both"),
    ({"message": "hello", "threadId": 12}, "threadId must be a string"),
])
def test_the_thread_must_be_named_once(api, conversation, body, error) -> None:
    filled = {k: v.format(thread=conversation.thread.pk, inbound=conversation.inbound.pk) if isinstance(v, str)
              else v for k, v in body.items()}
    before = (Message.objects.count(), Thread.objects.count())
    response = _reply(api, **filled)
    assert response.status_code == 400
    assert response.json() == {"error": error, "code": "VALIDATION_ERROR"}
    assert (Message.objects.count(), Thread.objects.count()) == before


def test_the_body_is_validated_like_a_send_and_writes_nothing(api, conversation) -> None:
    before = Message.objects.count()
    empty = _reply(api, threadId=conversation.thread.pk, message="   ")
    assert empty.status_code == 400 and empty.json() == {"error": "Message and attachmentUrls cannot both be empty"}
    too_many = _reply(api, threadId=conversation.thread.pk, message="x",
                      attachmentUrls=["https://a.example/1.png", "https://a.example/2.png", "https://a.example/3.png"])
    assert too_many.status_code == 400 and too_many.json()["error"] == "Maximum 2 attachments per message"
    not_json_object = api.post(URL, ["threadId"], format="json")
    assert not_json_object.status_code == 400 and not_json_object.json()["code"] == "INVALID_BODY"
    assert Message.objects.count() == before


def test_unknown_and_foreign_ids_are_404_and_write_nothing(api, conversation) -> None:
    other = WorkspaceFactory()
    foreign = Conversation(other, LineFactory(workspace=other), phone="+12025550177")
    before = (Message.objects.count(), Thread.objects.count())
    for body, error in [
        ({"threadId": foreign.thread.pk}, "Thread not found"),
        ({"threadId": "0123456789abcdef01234567"}, "Thread not found"),
        ({"threadId": "not-an-id"}, "Thread not found"),
        ({"messageId": foreign.inbound.pk}, "Message not found"),
        ({"messageId": foreign.outbound.pk}, "Message not found"),
        ({"messageId": "0123456789abcdef01234567"}, "Message not found"),
    ]:
        response = _reply(api, message="pwned", **body)
        assert (response.status_code, response.json()) == (404, {"error": error}), body
    assert (Message.objects.count(), Thread.objects.count()) == before
    # The control: the foreign workspace's own key reaches the same ids.
    _, key = api_key_create(workspace=other)
    assert _reply(client_for(key), threadId=foreign.thread.pk, message="own thread").status_code == 201


def test_a_message_outside_any_thread_has_no_thread_to_reply_on(api, workspace, line) -> None:
    loose = Message.objects.create(workspace=workspace, body="legacy", send_to_address=PHONE, status="sent")
    response = _reply(api, messageId=loose.pk, message="hello")
    assert (response.status_code, response.json()) == (404, {"error": "Thread not found"})


def test_a_duplicate_reply_returns_the_original(api, conversation) -> None:
    first = _reply(api, threadId=conversation.thread.pk, message="same words")
    second = _reply(api, messageId=conversation.inbound.pk, message="same words")
    assert (first.status_code, second.status_code) == (201, 200)
    body = second.json()
    assert body["duplicateOnly"] is True and body["message"]["_id"] == first.json()["message"]["_id"]
    assert body["threadId"] == conversation.thread.pk
    assert Message.objects.filter(body="same words").count() == 1


def test_idempotency_key_replays_the_first_answer(api, conversation) -> None:
    body = {"threadId": conversation.thread.pk, "message": "keyed reply"}
    first = api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="reply-1")
    again = api.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="reply-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content and again["Idempotent-Replayed"] == "true"
    assert Message.objects.filter(body="keyed reply").count() == 1


def test_a_past_due_workspace_cannot_reply(api, conversation) -> None:
    Workspace.objects.filter(pk=conversation.workspace.pk).update(billing_status="past_due")
    response = _reply(api, threadId=conversation.thread.pk, message="blocked")
    assert response.status_code == 402
    assert response.json() == {"error": "READ_ONLY", "code": "READ_ONLY", "reason": "past_due"}
    assert not Message.objects.filter(body="blocked").exists()


def test_do_not_contact_blocks_a_reply_like_any_send(api, conversation) -> None:
    dnc_add(workspace=conversation.workspace, address=PHONE, reason="manual")
    reply = _reply(api, threadId=conversation.thread.pk, message="are you there?").json()["message"]
    assert send_message(reply["_id"]) == "blocked"
    blocked = Message.objects.get(pk=reply["_id"])
    assert blocked.status == Status.FAILED and blocked.error_code == "DNC_BLOCKED"


def test_the_schema_documents_the_endpoint(client) -> None:
    schema = client.get("/api/schema", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"][URL]["post"]
    assert operation["operationId"] == "unibox_send_reply"
    assert {"200", "201", "400", "401", "402", "404", "429"} <= set(operation["responses"])
    request = schema["components"]["schemas"][
        operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]]
    assert {"threadId", "messageId", "message", "messageType", "attachmentUrls"} <= set(request["properties"])
