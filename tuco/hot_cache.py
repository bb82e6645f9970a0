"""Short-lived, per-process caches for the two reads every POST /api/messages makes: the API key (with its
workspace) and a workspace's active lines.

Each entry lives at most its TTL (TUCO_API_KEY_CACHE_SECONDS, TUCO_LINE_CACHE_SECONDS); a save or delete of an
ApiKey, Workspace or Line through the ORM in this process drops the cache at once (receivers in tuco.apps),
and the services that change them with a bulk UPDATE call `forget_*` themselves. Another process sees a
revoked key, a past-due workspace or a deactivated line within the TTL: the bound the README states. The
send path re-reads lines when it claims a message, so a stale line list only affects the line a new
message starts on, never whether an inactive line sends.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
MAX_ENTRIES = 10_000


class TtlCache:
    def __init__(self, ttl: Callable[[], float]) -> None:
        self._ttl = ttl
        self._entries: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Any, load: Callable[[], T]) -> T:
        ttl = self._ttl()
        if ttl > 0:
            hit = self._entries.get(key)
            if hit is not None and hit[0] > time.monotonic():
                return hit[1]
        value = load()
        if ttl > 0 and value is not None:
            with self._lock:
                if len(self._entries) >= MAX_ENTRIES:
                    self._entries.clear()
                self._entries[key] = (time.monotonic() + ttl, value)
        return value

    def forget(self, key: Any = None) -> None:
        with self._lock:
            if key is None:
                self._entries.clear()
            else:
                self._entries.pop(key, None)


def _setting(name: str) -> Callable[[], float]:
    def ttl() -> float:
        from django.conf import settings

        return float(getattr(settings, name))
    return ttl


api_keys = TtlCache(_setting("TUCO_API_KEY_CACHE_SECONDS"))
active_lines = TtlCache(_setting("TUCO_LINE_CACHE_SECONDS"))


def copies(items: list[T]) -> list[T]:
    """Shallow copies of cached model instances: a caller that sets an attribute changes only its own."""
    return [copy.copy(item) for item in items]


def forget_all(**_: Any) -> None:
    api_keys.forget()
    active_lines.forget()
