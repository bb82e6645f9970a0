"""The envelope every webhook body shares, and the health-check ping's body.

Message events are built by messaging.webhook_events on the same envelope.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tuco.timefmt import iso

HEALTH_CHECK_TEXT = "This is a health check test webhook from Tuco AI"

def envelope(event_type: str, at: datetime, workspace_id: str) -> dict[str, Any]:
    # eventId is filled per endpoint by with_event_id (one outbox row per endpoint).
    return {"event": event_type, "eventId": "", "timestamp": iso(at), "workspaceId": workspace_id}


def health_check_payload(*, event_type: str, workspace_id: str, at: datetime, event_id: str) -> dict[str, Any]:
    return with_event_id({**envelope(event_type, at, workspace_id),
                          "data": {"test": True, "message": HEALTH_CHECK_TEXT}}, event_id)


def with_event_id(payload: dict[str, Any], event_id: str) -> dict[str, Any]:
    return {**payload, "eventId": event_id}  # keeps the key's place right after "event"
