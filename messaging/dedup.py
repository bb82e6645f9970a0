"""The atomic duplicate guard (spec: "Duplicate protection").

Identical (workspace, recipientPhone, recipientEmail, message, attachment URLs)
within 15 minutes collapse onto the first message. The addresses are the ones the
send resolves to (the body's, else its lead's), so the same text sent once by
leadId and once by the lead's phone is one message; different attachments are a
different message. The claim is a single
INSERT … ON CONFLICT on a unique index, inside the message's transaction: a
concurrent identical POST blocks on the index entry until the first commits,
then sees the live claim and gets the original back. No check-then-insert.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection

from messaging.models import DedupGuard

_TABLE = DedupGuard._meta.db_table


def fingerprint(*, phone: str, email: str, body: str, attachment_urls: list[str]) -> str:
    material = json.dumps([phone, email, body, attachment_urls], ensure_ascii=False)
    return hashlib.sha256(material.encode()).hexdigest()


def dedup_claim(*, workspace_id: str, fingerprint: str, message_id: str, now: datetime) -> str | None:
    """Claim `fingerprint` for `message_id`. Returns None when claimed, else the live original's id."""
    expires = now + timedelta(seconds=settings.TUCO_DEDUP_WINDOW_SECONDS)
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{_TABLE}" (workspace_id, fingerprint, message_id, created_at, expires_at) '
            "VALUES (%s, %s, %s, %s, %s) "
            "ON CONFLICT (workspace_id, fingerprint) DO UPDATE SET message_id = EXCLUDED.message_id, "
            "created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at "
            f'WHERE "{_TABLE}".expires_at <= EXCLUDED.created_at '
            "RETURNING message_id",
            [workspace_id, fingerprint, message_id, now, expires],
        )
        if cursor.fetchone() is not None:
            return None
        cursor.execute(f'SELECT message_id FROM "{_TABLE}" WHERE workspace_id = %s AND fingerprint = %s',
                       [workspace_id, fingerprint])
        row = cursor.fetchone()
    return row[0] if row else None


def dedup_reassign(*, workspace_id: str, fingerprint: str, message_id: str, now: datetime) -> None:
    """Point a claim at a new message (the original it named no longer exists)."""
    DedupGuard.objects.filter(workspace_id=workspace_id, fingerprint=fingerprint).update(
        message_id=message_id, created_at=now,
        expires_at=now + timedelta(seconds=settings.TUCO_DEDUP_WINDOW_SECONDS),
    )


def dedup_purge_expired(*, now: datetime) -> int:
    deleted, _ = DedupGuard.objects.filter(expires_at__lte=now).delete()
    return deleted
