"""One relay send call, from validated request to HTTP answer (reference §3, §4, §11).

The tempGuid send cache is claimed by the route before this runs and released after it returns,
whatever happens, exactly like messageRouter's try/finally.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from . import responses as r
from .addresses import parse_dm_chat_guid
from .faults import SEND_FAULTS
from .serializers import message_json
from .simulator import Simulator
from .store import Attachment, Message, now_ms

log = logging.getLogger("relay_simulator")


@dataclass(frozen=True)
class Labels:
    ok: str
    failed: str
    see_attached: str
    inject_temp_guid: bool


TEXT = Labels("Message sent!", "Message Send Error", "Failed to send message! See attached message error code.", True)
ATTACHMENT = Labels(
    "Attachment sent!", "Attachment Send Error", "Failed to send attachment! See attached message error code.", False
)


@dataclass
class Outgoing:
    chat_guid: str
    temp_guid: str | None
    method: str
    text: str
    labels: Labels
    subject: str | None = None
    effect_id: str | None = None
    reply_to_guid: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    is_audio_message: bool = False


def _applescript_error(detail: str) -> str:
    return f"execution error: Messages got an error: {detail}"


def perform_send(sim: Simulator, out: Outgoing, is_disconnected: Callable[[], bool]) -> r.Response | None:
    """Returns the answer, or None when the client is gone or the server is stopping."""
    cfg = sim.config
    labels = out.labels
    started = time.monotonic()

    if out.method == "private-api" and not cfg.private_api:
        # checkPrivateApiStatus throws inside the send: no middleware body, the send error body.
        return r.imessage_error(labels.failed, "iMessage Private API is not enabled!")

    target = parse_dm_chat_guid(out.chat_guid)
    if target is None:
        # Group chats and malformed GUIDs: the AppleScript `chat id` lookup fails and the buddy
        # fallback only exists for DMs. The Private API helper never answers (its 120 s timeout).
        sim.sleep(cfg.send_delay_ms / 1000)
        if out.method == "private-api":
            return r.imessage_error(labels.failed, "Transaction timeout")
        return r.imessage_error(labels.failed, _applescript_error(f'Can’t get chat id "{out.chat_guid}". (-1728)'))

    service = target.service
    stored_prefix = "any" if cfg.macos_tahoe else service
    stored_guid = f"{stored_prefix};-;{target.address}"
    awaiter_matches = True
    if cfg.macos_tahoe and out.method == "apple-script":
        with sim.store.lock:
            chat_exists = stored_guid in sim.store.chats
        if target.prefix == "any" and not chat_exists:
            # #777: no chat yet, so the buddy fallback runs with service type "any" and fails.
            sim.sleep(cfg.send_delay_ms / 1000)
            return r.imessage_error(
                labels.failed, _applescript_error('Can’t make "any" into type service type. (-1700)')
            )
        # The row lands in any;-;addr but the awaiter watches the GUID that was sent: #801.
        awaiter_matches = target.prefix == "any"

    fault = sim.faults.take(SEND_FAULTS, target.address)
    if fault == "send-error":
        sim.sleep(cfg.send_delay_ms / 1000)
        detail = (
            "Failed to send message! Message not found in database after 60 seconds!"
            if out.method == "private-api"
            else _applescript_error("Can’t send this message. (-1708)")
        )
        return r.imessage_error(labels.failed, detail)

    with sim.store.lock:
        chat = sim.store.chat_for(stored_guid, target.address, service)
        msg = sim.store.add_message(
            text=out.text,
            handle=sim.store.handle_for(target.address, service),
            chat=chat,
            is_from_me=True,
            date_created=now_ms(),
            subject=out.subject,
            effect_id=out.effect_id,
            reply_to_guid=out.reply_to_guid,
            attachments=list(out.attachments),
            is_audio_message=out.is_audio_message,
            temp_guid=out.temp_guid,
            method=out.method,
            in_flight=True,
        )
    try:
        if not sim.sleep(cfg.send_delay_ms / 1000):
            return None
        sim.device_sent(msg, fault)

        if fault == "error-after-send" or not awaiter_matches:
            return _awaiter_timeout(labels)
        if fault == "hang":
            deadline = started + cfg.hang_seconds
            while time.monotonic() < deadline:
                if is_disconnected():
                    log.info("relay-sim: client gave up on hanging send %s", msg.guid)
                    return None
                if not sim.sleep(min(0.05, max(deadline - time.monotonic(), 0))):
                    return None
            return _awaiter_timeout(labels)
        if fault == "slow" and not sim.sleep(cfg.slow_ms / 1000):
            return None
        return _success(sim, msg, out)
    finally:
        with sim.store.lock:
            msg.in_flight = False


def _awaiter_timeout(labels: Labels) -> r.Response:
    """#801: the message was sent but the awaiter never matched; `data` is explicitly null."""
    return r.imessage_error(labels.failed, labels.see_attached, data=None)


def _success(sim: Simulator, msg: Message, out: Outgoing) -> r.Response:
    if out.temp_guid and sim.store.holds(msg):
        # emitMessageMatch: the awaiter resolved, a second new-message carries the tempGuid.
        with sim.store.lock:
            match = message_json(msg, rest=False, chats=True)
        match["tempGuid"] = out.temp_guid
        sim.emit("new-message", match)
    with sim.store.lock:
        msg.in_flight = False
        data = message_json(msg, rest=True, chats=True)
    if out.labels.inject_temp_guid and out.temp_guid:
        data["tempGuid"] = out.temp_guid
    return r.success(data, message=out.labels.ok)
