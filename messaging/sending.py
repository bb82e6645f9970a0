"""The send path. Placeholder until the relay work lands."""

from __future__ import annotations


def send_message(message_id: str) -> None:
    return None
