"""Injected misbehaviour (docs/relay-simulator.md, the operator contract), consumed first-in first-out.

Each fault answers the next `times` matching operations; `address` narrows it to one recipient.
A send consumes at most one send fault. `auth-failure` is different: it is a switch (the Mac's
password changed), on until reset, whatever `times` says.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any

SEND_FAULTS = frozenset({"error-after-send", "hang", "send-error", "never-deliver", "send-error-webhook", "slow"})
AVAILABILITY_FAULTS = frozenset({"availability-error"})
FAULT_KINDS = tuple(sorted(SEND_FAULTS | AVAILABILITY_FAULTS | {"auth-failure"}))


@dataclass
class Fault:
    id: int
    kind: str
    times: int
    remaining: int
    address: str | None


class FaultRegistry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._next_id = 1
        self._auth_failure = False

    def add(self, kind: str, times: int, address: str | None) -> Fault:
        with self._lock:
            fault = Fault(self._next_id, kind, times, times, address)
            self._next_id += 1
            if kind == "auth-failure":
                self._auth_failure = True
            else:
                self._faults.append(fault)
            return fault

    def take(self, kinds: frozenset[str], address: str | None) -> str | None:
        """Consume one use of the oldest matching fault and return its kind."""
        with self._lock:
            for fault in self._faults:
                if fault.kind in kinds and (fault.address is None or fault.address == address):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault.kind
            return None

    @property
    def auth_failure(self) -> bool:
        return self._auth_failure

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"authFailure": self._auth_failure, "pending": [asdict(f) for f in self._faults]}

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self._auth_failure = False
