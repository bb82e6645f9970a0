"""A reply on a conversation thread: the one send path of the Unibox reply box and POST /api/unibox/send-reply.

A reply is the POST /api/messages request an integrator would write for it —
to the thread's address, for the thread's lead, from the thread's line when
that line is active and carries the chosen channel — so `parse_send_request`
validates it and `message_create` sends it (duplicate guard, DNC, attachments
and everything else of a send apply unchanged).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lines.models import Line
from messaging.models import Message, Thread
from messaging.selectors import MESSAGE_NOT_FOUND
from messaging.send_input import SendRequest, parse_send_request
from messaging.services.create import CreateResult, SendContext, message_create
from tuco.addresses import is_email
from tuco.body_fields import optional_string, require_json_object
from tuco.errors import BadRequest, NotFound
from tuco.ids import is_object_id
from tuco.models import Workspace

THREAD_NOT_FOUND = "Thread not found"
REPLY_TARGET_REQUIRED = "threadId or messageId is required"
REPLY_TARGET_AMBIGUOUS = "Give threadId or messageId, not both"
MESSAGE_TYPE_LABELS = {"imessage": "iMessage", "sms": "SMS", "email": "Email"}
# The line channel that can carry each reply type (SMS goes through the fallback provider, not a line).
_LINE_CHANNEL = {"imessage": Line.Channel.PHONE, "email": Line.Channel.EMAIL}


def _address_message_types(thread: Thread) -> list[str]:
    # An email address is an email conversation or an iMessage to an Apple ID; a phone, iMessage or SMS.
    return ["email", "imessage"] if is_email(thread.address) else ["imessage", "sms"]


def reply_default_message_type(thread: Thread) -> str:
    """The channel the conversation is on: its line's, else SMS for a phone (no line) or email for an email."""
    possible = _address_message_types(thread)
    line = thread.line
    by_line = None
    if line is not None:
        by_line = "email" if line.channel_type == Line.Channel.EMAIL else "imessage"
    elif not is_email(thread.address):
        by_line = "sms"  # a lineless phone thread is an SMS conversation (SMS holds no line)
    return by_line if by_line in possible else possible[0]


def reply_message_types(thread: Thread) -> list[str]:
    """The channels a reply on this thread may use, the default first."""
    default = reply_default_message_type(thread)
    return [default, *(t for t in _address_message_types(thread) if t != default)]


def thread_reply_request(thread: Thread, reply: Mapping[str, Any]) -> SendRequest:
    """The validated send request of a reply on `thread`.

    `reply` holds the reply's own fields in API spelling: message, messageType
    (default: `reply_default_message_type`), attachmentUrls, attachmentNames.
    Anything else in it is ignored: the recipient, lead and line are the thread's.
    """
    message_type = reply.get("messageType")
    if message_type is None:
        message_type = reply_default_message_type(thread)
    body: dict[str, Any] = {"message": reply.get("message"), "messageType": message_type}
    for key in ("attachmentUrls", "attachmentNames", "subject"):
        if reply.get(key) is not None:
            body[key] = reply[key]
    if message_type == "email" and reply.get("subject") is None:
        body["subject"] = reply_subject(thread)
    body["recipientEmail" if is_email(thread.address) else "recipientPhone"] = thread.address
    if thread.lead_id:
        body["leadId"] = thread.lead_id
    line = thread.line
    wanted_channel = _LINE_CHANNEL.get(message_type) if isinstance(message_type, str) else None
    if line is not None and line.is_active and wanted_channel == line.channel_type:
        body["fromLineId"] = line.pk  # same thread, same sender
    send = parse_send_request(body)  # the spec's texts and order for every field
    allowed = reply_message_types(thread)
    if send.message_type not in allowed:
        raise BadRequest(f"messageType {send.message_type} is not possible on this thread "
                         f"({thread.address}): use {' or '.join(allowed)}", code="VALIDATION_ERROR")
    return send


def reply_subject(thread: Thread) -> str | None:
    """"Re: <subject>" of the conversation's latest email, so the reply threads in their mail client."""
    latest = (Message.objects.filter(thread=thread, message_type="email").exclude(subject="")
              .order_by("-created_at").values_list("subject", flat=True).first())
    if not latest:
        return None
    return latest if latest.lower().startswith("re:") else f"Re: {latest}"[:200]


def thread_reply(*, thread: Thread, reply: Mapping[str, Any], context: SendContext) -> CreateResult:
    """Send a reply on `thread` (or return the live duplicate), exactly as POST /api/messages would."""
    return message_create(workspace=thread.workspace, request=thread_reply_request(thread, reply), context=context)


def reply_thread_get(*, workspace: Workspace, data: Any) -> Thread:
    """The thread a reply request names, by threadId or by messageId (the thread of that message).

    Exactly one of the two; another workspace's ids are indistinguishable from unknown ones (404).
    """
    require_json_object(data)
    thread_id, message_id = optional_string(data, "threadId"), optional_string(data, "messageId")
    if not thread_id and not message_id:
        raise BadRequest(REPLY_TARGET_REQUIRED, code="VALIDATION_ERROR")
    if thread_id and message_id:
        raise BadRequest(REPLY_TARGET_AMBIGUOUS, code="VALIDATION_ERROR")
    if message_id:
        found = list(Message.objects.filter(workspace=workspace, pk=message_id).values_list("thread_id", flat=True)
                     if is_object_id(message_id) else [])
        if not found:
            raise NotFound(MESSAGE_NOT_FOUND)
        thread_id = found[0] or ""  # a message outside any thread has nothing to reply on: "Thread not found"
    thread = None
    if is_object_id(thread_id):
        thread = (Thread.objects.select_related("lead", "line", "workspace")
                  .filter(workspace=workspace, pk=thread_id).first())
    if thread is None:
        raise NotFound(THREAD_NOT_FOUND)
    return thread
