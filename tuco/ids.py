"""Public ids: 24-hex, time-ordered like the spec's MongoDB ObjectIds.

4 bytes of seconds since the epoch, 5 random bytes fixed per process, and a
3-byte counter: ordered by creation time, unique across processes.
"""

from __future__ import annotations

import itertools
import os
import re
import threading
import time

_PROCESS_RANDOM = os.urandom(5)
_COUNTER = itertools.count(int.from_bytes(os.urandom(3), "big"))
_LOCK = threading.Lock()
_PID = os.getpid()

OBJECT_ID_RE = re.compile(r"^[0-9a-f]{24}$")


def new_id() -> str:
    global _PROCESS_RANDOM, _PID
    with _LOCK:
        if os.getpid() != _PID:  # forked worker: never share the parent's random part
            _PID = os.getpid()
            _PROCESS_RANDOM = os.urandom(5)
        count = next(_COUNTER) & 0xFFFFFF
    return (int(time.time()).to_bytes(4, "big") + _PROCESS_RANDOM + count.to_bytes(3, "big")).hex()


def is_object_id(value: object) -> bool:
    return isinstance(value, str) and bool(OBJECT_ID_RE.match(value))
