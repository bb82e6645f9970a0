"""The simulated device: state, background threads and what happens to a message after it leaves.

Timeline of one outgoing message (reference §11, scaled down by the config):
  row written (visible to /message/query, state `sending`)
  -> +send_delay: the device has sent it: `new-message` webhook (no tempGuid), delivery planned
  -> the relay call answers (`new-message` copy with tempGuid on the normal path)
  -> +deliver_after: `updated-message` isDelivered/dateDelivered
  -> +read_after: `updated-message` dateRead (iMessage only)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from .config import SimConfig
from .faults import FaultRegistry
from .serializers import message_json
from .store import Message, Store, now_ms
from .timers import Scheduler
from .webhooks import Dispatcher, WebhookRegistry

log = logging.getLogger("relay_simulator")

# chat.db error code the reference documents ("4: Message Timeout"); used for send-error-webhook.
SEND_ERROR_CODE = 4


class Simulator:
    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.store = Store(config.account)
        self.faults = FaultRegistry()
        self.webhooks = WebhookRegistry()
        self.dispatcher = Dispatcher(
            self.webhooks, delay_ms=config.webhook_delay_ms, timeout_s=config.webhook_timeout_s
        )
        self.scheduler = Scheduler()
        # Set on shutdown: every sleeping or hanging request wakes up and gives up.
        self.stopping = threading.Event()
        self.started_at = time.time()
        # `POST /attachment/upload` results, keyed by the returned path: (name, size).
        self.uploads: dict[str, tuple[str, int]] = {}

    # -- lifecycle of the process -------------------------------------------------------------------
    def start(self) -> None:
        self.dispatcher.start()
        self.scheduler.start()

    def stop(self) -> None:
        self.stopping.set()
        self.scheduler.stop()
        self.dispatcher.stop()

    def sleep(self, seconds: float) -> bool:
        """Sleep unless shutting down; False means "stop what you are doing"."""
        if seconds <= 0:
            return not self.stopping.is_set()
        return not self.stopping.wait(seconds)

    def reset(self, *, webhooks: bool = False) -> None:
        self.store.reset()
        self.faults.clear()
        self.dispatcher.clear_history()
        with self.store.lock:
            self.uploads.clear()
        if webhooks:
            self.webhooks.clear()

    # -- events -------------------------------------------------------------------------------------
    def emit(self, event_type: str, data: Any) -> None:
        self.dispatcher.emit(event_type, data)

    def later(self, delay_ms: int, fn: Callable[[], None]) -> None:
        """Run fn after delay_ms unless a reset happens first (the message it touches is gone)."""
        generation = self.store.generation

        def guarded() -> None:
            if self.store.generation == generation:
                fn()

        self.scheduler.call_later(delay_ms / 1000.0, guarded)

    # -- what the device does with a sent message -----------------------------------------------------
    def device_sent(self, msg: Message, fault: str | None) -> None:
        """The row is now really out: tell webhooks and plan delivery / late failure."""
        if not self.store.holds(msg):
            return
        with self.store.lock:
            msg.is_sent = True
            data = message_json(msg, rest=False, chats=True)
        self.emit("new-message", data)

        cfg = self.config
        if fault == "never-deliver":
            return
        if fault == "send-error-webhook":
            delay = cfg.deliver_after_ms if cfg.deliver_after_ms is not None else cfg.error_after_ms
            self.later(delay, lambda: self._mark_errored(msg))
            return
        if cfg.deliver_after_ms is None:
            return
        if msg.handle.service == "iMessage" and not self.store.capability(msg.chat.identifier).imessage:
            # Issue #685: iMessage to an address without iMessage: a 200, then nothing. Ever.
            return
        self.later(cfg.deliver_after_ms, lambda: self._mark_delivered(msg))

    def _mark_delivered(self, msg: Message) -> None:
        with self.store.lock:
            if msg.error:
                return
            msg.is_delivered = True
            # SMS rows get is_delivered without a date_delivered (reference §7); iMessage gets both.
            msg.date_delivered = now_ms() if msg.handle.service == "iMessage" else None
            data = message_json(msg, rest=False, chats=None)
        self.emit("updated-message", data)
        if self.config.read_after_ms is not None and msg.handle.service == "iMessage":
            self.later(self.config.read_after_ms, lambda: self._mark_read(msg))

    def _mark_read(self, msg: Message) -> None:
        with self.store.lock:
            msg.date_read = now_ms()
            data = message_json(msg, rest=False, chats=None)
        self.emit("updated-message", data)

    def _mark_errored(self, msg: Message) -> None:
        with self.store.lock:
            msg.error = SEND_ERROR_CODE
            # No tempGuid: the relay call has long returned, so no awaiter is pending (reference §10).
            data = message_json(msg, rest=False, chats=True)
        self.emit("message-send-error", data)

    # -- the other side replies ---------------------------------------------------------------------
    def receive(self, address: str, text: str, to: str | None) -> Message:
        cfg = self.config
        service = "iMessage" if self.store.capability(address).imessage else "SMS"
        prefix = "any" if cfg.macos_tahoe else service
        with self.store.lock:
            chat = self.store.chat_for(f"{prefix};-;{address}", address, service, to=to)
            msg = self.store.add_message(
                text=text,
                handle=self.store.handle_for(address, service),
                chat=chat,
                is_from_me=False,
                date_created=now_ms(),
                is_sent=True,
                is_delivered=True,
            )
            data = message_json(msg, rest=False, chats=True)
        self.emit("new-message", data)
        return msg
