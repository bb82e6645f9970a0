"""Taking turns across processes: a Redis counter per key, shared by every web and worker process."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

from django.core.cache import cache

from tuco.logging import get_logger

log = get_logger(__name__)

T = TypeVar("T")


def next_in_turn(key: str, items: Sequence[T]) -> T:
    """The next of `items` in turn for `key`. Redis down: any item is better than refusing the work."""
    if len(items) == 1:
        return items[0]
    cache_key = f"rr:{key}"
    try:
        turn = cache.incr(cache_key)
    except ValueError:
        cache.add(cache_key, 0, timeout=None)
        turn = cache.incr(cache_key)
    except Exception as exc:
        log.warning("lines.round_robin.redis_unavailable", error=str(exc))
        return random.choice(list(items))
    return items[turn % len(items)]
