"""In-process send when the broker is unreachable at POST time (spec: "app sync fallback").

Placeholder until the send path lands.
"""

from __future__ import annotations


def start_sync_fallback(message_id: str) -> None:
    return None
