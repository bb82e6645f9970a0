"""Outgoing webhook outbox: event rows written in the status change's transaction.

Placeholder until the outgoing-webhooks work lands: nothing is recorded yet.
"""

from __future__ import annotations

from typing import Any


def outbox_record(*, message: Any, event_type: str) -> None:
    return None
