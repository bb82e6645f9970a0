"""Threads (Unibox conversations): same workspace + same recipient address = same thread."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from messaging.models import Thread
from tuco.ids import new_id

_TABLE = Thread._meta.db_table
PREVIEW_CHARS = 200


@dataclass
class ThreadRef:
    id: str
    line_id: str | None  # the sticky line (first line that wrote to this recipient)


def thread_touch(*, workspace_id: str, address: str, lead_id: str | None, line_id: str | None,
                 preview: str, direction: str, at: datetime, unread_increment: int = 0) -> ThreadRef:
    """Create or update the thread for `address` in one statement; return it with its sticky line.

    An existing thread keeps its line and lead (COALESCE); activity fields move forward.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{_TABLE}" (id, workspace_id, address, lead_id, line_id, last_message_at, '
            "last_message_preview, last_direction, unread_count, created_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (workspace_id, address) DO UPDATE SET "
            f'lead_id = COALESCE("{_TABLE}".lead_id, EXCLUDED.lead_id), '
            f'line_id = COALESCE("{_TABLE}".line_id, EXCLUDED.line_id), '
            f'last_message_at = GREATEST("{_TABLE}".last_message_at, EXCLUDED.last_message_at), '
            "last_message_preview = EXCLUDED.last_message_preview, "
            "last_direction = EXCLUDED.last_direction, "
            f'unread_count = "{_TABLE}".unread_count + %s '
            "RETURNING id, line_id",
            [new_id(), workspace_id, address, lead_id, line_id, at, (preview or "")[:PREVIEW_CHARS], direction,
             unread_increment, at, unread_increment],
        )
        thread_id, sticky_line_id = cursor.fetchone()
    return ThreadRef(id=thread_id, line_id=sticky_line_id)


def thread_set_line(*, thread_id: str, line_id: str) -> None:
    Thread.objects.filter(pk=thread_id).update(line_id=line_id)

