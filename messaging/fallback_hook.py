"""Where the send path hands over to the fallback policy (spec: fallback scenario table).

Filled in by the fallback integration; until then a failure triggers nothing.
"""

from __future__ import annotations

from messaging.models import Message


def after_failure(message: Message) -> None:
    return None
