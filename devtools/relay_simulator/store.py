"""An in-memory stand-in for the Mac's chat.db plus the simulator's view of the Apple side.

Everything is guarded by one re-entrant lock: several app worker processes send at once and each
must get a distinct ROWID and GUID. ROWID counters survive `reset` on purpose: a real chat.db never
reuses ROWIDs, and clients that page with `message.ROWID > :id` must not see them go backwards.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any


def now_ms() -> int:
    return int(time.time() * 1000)


def new_guid() -> str:
    # chat.db message GUIDs are upper-case UUIDs.
    return str(uuid.uuid4()).upper()


@dataclass
class Handle:
    rowid: int
    address: str
    service: str  # "iMessage" | "SMS"


@dataclass
class Chat:
    rowid: int
    guid: str
    service: str
    identifier: str  # chat_identifier: the other party's address for a DM
    handle: Handle
    group_id: str
    last_addressed_handle: str


@dataclass
class Attachment:
    rowid: int
    guid: str
    name: str
    mime_type: str
    uti: str
    size: int


@dataclass
class Message:
    rowid: int
    guid: str
    text: str | None
    handle: Handle
    chat: Chat
    is_from_me: bool
    date_created: int
    subject: str | None = None
    effect_id: str | None = None
    reply_to_guid: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    is_audio_message: bool = False
    temp_guid: str | None = None
    method: str | None = None
    error: int = 0
    is_sent: bool = False
    is_delivered: bool = False
    date_delivered: int | None = None
    date_read: int | None = None
    # True while the relay call that created the row has not answered yet.
    in_flight: bool = False

    @property
    def state(self) -> str:
        if self.in_flight:
            return "sending"
        if self.error:
            return "errored"
        if self.date_read is not None:
            return "read"
        if self.is_delivered:
            return "delivered"
        return "sent"


@dataclass
class Capability:
    imessage: bool
    facetime: bool


class Store:
    def __init__(self, account: str) -> None:
        self.lock = threading.RLock()
        self.account = account
        # Bumped by reset(); timers scheduled before a reset compare it and do nothing.
        self.generation = 0
        self._rowids = {"message": 0, "handle": 0, "chat": 0, "attachment": 0}
        self.messages: list[Message] = []
        self.by_guid: dict[str, Message] = {}
        self.chats: dict[str, Chat] = {}
        self.handles: dict[tuple[str, str], Handle] = {}
        self.capabilities: dict[str, Capability] = {}
        self.inflight_temp_guids: set[str] = set()
        self.availability_log: list[dict[str, Any]] = []

    def next_rowid(self, table: str) -> int:
        with self.lock:
            self._rowids[table] += 1
            return self._rowids[table]

    def reset(self) -> None:
        with self.lock:
            self.generation += 1
            self.messages.clear()
            self.by_guid.clear()
            self.chats.clear()
            self.handles.clear()
            self.capabilities.clear()
            self.availability_log.clear()
            # In-flight tempGuids belong to requests still running; they release them themselves.

    # -- send cache (BlueBubbles' httpService.sendCache) ------------------------------------------
    def claim_temp_guid(self, temp_guid: str | None) -> bool:
        """Atomically check-and-add, so two racing duplicates cannot both pass."""
        if not temp_guid:
            return True
        with self.lock:
            if temp_guid in self.inflight_temp_guids:
                return False
            self.inflight_temp_guids.add(temp_guid)
            return True

    def release_temp_guid(self, temp_guid: str | None) -> None:
        if temp_guid:
            with self.lock:
                self.inflight_temp_guids.discard(temp_guid)

    # -- Apple side: who is reachable over iMessage -------------------------------------------------
    def set_capability(self, address: str, imessage: bool, facetime: bool) -> None:
        with self.lock:
            self.capabilities[address] = Capability(imessage=imessage, facetime=facetime)

    def capability(self, address: str) -> Capability:
        with self.lock:
            return self.capabilities.get(address, Capability(imessage=True, facetime=True))

    # -- chat.db rows -------------------------------------------------------------------------------
    def handle_for(self, address: str, service: str) -> Handle:
        with self.lock:
            key = (address, service)
            if key not in self.handles:
                self.handles[key] = Handle(self.next_rowid("handle"), address, service)
            return self.handles[key]

    def chat_for(self, guid: str, address: str, service: str, to: str | None = None) -> Chat:
        with self.lock:
            chat = self.chats.get(guid)
            if chat is None:
                chat = Chat(
                    rowid=self.next_rowid("chat"),
                    guid=guid,
                    service=service,
                    identifier=address,
                    handle=self.handle_for(address, service),
                    group_id=new_guid(),
                    last_addressed_handle=to or self.account,
                )
                self.chats[guid] = chat
            elif to:
                chat.last_addressed_handle = to
            return chat

    def add_message(self, **fields: Any) -> Message:
        with self.lock:
            msg = Message(rowid=self.next_rowid("message"), guid=new_guid(), **fields)
            self.messages.append(msg)
            self.by_guid[msg.guid] = msg
            return msg

    def holds(self, msg: Message) -> bool:
        """False once a reset forgot the row (a send still in flight must then stay silent)."""
        with self.lock:
            return self.by_guid.get(msg.guid) is msg

    def new_attachment(self, name: str, mime_type: str, uti: str, size: int) -> Attachment:
        return Attachment(self.next_rowid("attachment"), new_guid(), name, mime_type, uti, size)

    def outgoing(self) -> list[Message]:
        with self.lock:
            return [m for m in self.messages if m.is_from_me]
