"""Settings of one simulated BlueBubbles server (one Mac relay)."""

from __future__ import annotations

from dataclasses import dataclass

CHAT_PREFIXES = ("iMessage", "any")


@dataclass(frozen=True)
class SimConfig:
    host: str = "127.0.0.1"
    port: int = 8765
    password: str = "sim-password"
    # How long the device takes before the send call answers. The real server blocks until
    # the row shows up in chat.db (about a second); scaled down here.
    send_delay_ms: int = 200
    # After a successful send: delivered this long later (None = never).
    deliver_after_ms: int | None = 1000
    # After delivery: read this long later (None = never; read receipts are opt-in on iOS).
    read_after_ms: int | None = None
    # Drives server/info private_api + helper_connected and every Private API gate.
    private_api: bool = True
    # "iMessage" = macOS <= 15 chat GUIDs; "any" = macOS 26 Tahoe writes any;-;<address>.
    chat_prefix: str = "iMessage"
    # How long a `hang` fault holds the request before the #801 500 body.
    hang_seconds: float = 600.0
    # Extra latency between an event and its webhook POST (the real poller debounces ~500 ms).
    webhook_delay_ms: int = 0
    # How much later than usual a `slow` fault answers.
    slow_ms: int = 3000
    # Used when send-error-webhook fires while delivery is disabled (deliver_after_ms None).
    error_after_ms: int = 1000
    webhook_timeout_s: float = 5.0
    # The Mac's own iMessage account (chat.lastAddressedHandle, server/info detected_*).
    account: str = "relay-sim@icloud.com"
    log_requests: bool = True

    def __post_init__(self) -> None:
        if self.chat_prefix not in CHAT_PREFIXES:
            raise ValueError(f"chat_prefix must be one of {CHAT_PREFIXES}, got {self.chat_prefix!r}")
        if self.deliver_after_ms is not None and self.deliver_after_ms < 0:
            object.__setattr__(self, "deliver_after_ms", None)
        if self.read_after_ms is not None and self.read_after_ms < 0:
            object.__setattr__(self, "read_after_ms", None)

    @property
    def macos_tahoe(self) -> bool:
        return self.chat_prefix == "any"
