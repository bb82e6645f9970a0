"""Idempotency-Key: the same key within 24 h replays the first response byte for byte.

Runs after authentication and before the view (so before the duplicate guard).
The key is claimed with an INSERT … ON CONFLICT, committed at once, so a
concurrent request with the same key sees it in flight (409 IN_PROGRESS). A
different body under the same key is 409 REUSED. Only 2xx responses are
stored; anything else releases the key, so a rejected request leaves no row.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpResponse
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response

from tuco.errors import BadRequest, Conflict
from tuco.models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
# A claim not completed within this long belongs to a request that died: take it over.
ABANDONED_AFTER = timedelta(seconds=120)
_TABLE = IdempotencyRecord._meta.db_table


class Replay(Exception):
    def __init__(self, response: HttpResponse) -> None:
        self.response = response


@dataclass
class Claim:
    record_id: int


def _fingerprint(request: Request) -> str:
    raw = request._request.body  # read before DRF parses, so the exact bytes count
    return hashlib.sha256(request.method.encode() + b" " + request.path.encode() + b"\n" + raw).hexdigest()


def idempotency_begin(request: Request, workspace_id: str) -> Claim | None:
    key = (request.headers.get(HEADER) or "").strip()
    if not key:
        return None
    if len(key) > MAX_KEY_LENGTH:
        raise BadRequest(f"{HEADER} must be at most {MAX_KEY_LENGTH} characters", code="INVALID_IDEMPOTENCY_KEY")
    fingerprint = _fingerprint(request)
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{_TABLE}" (workspace_id, key, request_fingerprint, completed, created_at, '
            "response_content_type) VALUES (%s, %s, %s, false, %s, '') "
            "ON CONFLICT (workspace_id, key) DO NOTHING RETURNING id",
            [workspace_id, key, fingerprint, now],
        )
        row = cursor.fetchone()
    if row:
        return Claim(record_id=row[0])

    record = IdempotencyRecord.objects.filter(workspace_id=workspace_id, key=key).first()
    if record is None:  # released between our INSERT and SELECT: try once more
        return idempotency_begin(request, workspace_id)
    expired = record.created_at < now - timedelta(seconds=settings.TUCO_IDEMPOTENCY_TTL_SECONDS)
    abandoned = not record.completed and record.created_at < now - ABANDONED_AFTER
    if expired or abandoned:
        taken = IdempotencyRecord.objects.filter(pk=record.pk, created_at=record.created_at).update(
            request_fingerprint=fingerprint, completed=False, response_status=None, response_body=None,
            created_at=now,
        )
        if taken:
            return Claim(record_id=record.pk)
    if record.request_fingerprint != fingerprint:
        raise Conflict("This Idempotency-Key was already used with a different request",
                       code="IDEMPOTENCY_KEY_REUSED")
    if not record.completed:
        raise Conflict("A request with this Idempotency-Key is still in progress; retry shortly",
                       code="IDEMPOTENCY_KEY_IN_PROGRESS")
    replay = HttpResponse(bytes(record.response_body), status=record.response_status,
                          content_type=record.response_content_type)
    replay["Idempotent-Replayed"] = "true"
    raise Replay(replay)


def idempotency_finish(claim: Claim, response: HttpResponse) -> None:
    if 200 <= response.status_code < 300:
        if isinstance(response, Response) and not response.is_rendered:
            response.render()
        IdempotencyRecord.objects.filter(pk=claim.record_id).update(
            completed=True, response_status=response.status_code, response_body=bytes(response.content),
            response_content_type=response.get("Content-Type", "application/json"),
        )
    else:
        IdempotencyRecord.objects.filter(pk=claim.record_id, completed=False).delete()


def idempotency_purge_expired() -> int:
    cutoff = timezone.now() - timedelta(seconds=settings.TUCO_IDEMPOTENCY_TTL_SECONDS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted


class IdempotentMixin:
    """For APIViews whose writes honour Idempotency-Key."""

    _idempotency_claim: Claim | None = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        if request.method == "POST":
            from tuco.auth import workspace_of

            self._idempotency_claim = idempotency_begin(request, workspace_of(request).pk)

    def handle_exception(self, exc: Exception) -> Any:
        if isinstance(exc, Replay):
            return exc.response
        return super().handle_exception(exc)  # type: ignore[misc]

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        if self._idempotency_claim is not None:
            claim, self._idempotency_claim = self._idempotency_claim, None
            idempotency_finish(claim, response)
        return response
