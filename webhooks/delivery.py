"""Delivering outbox events: claim → commit → signed POST → write the result.

- A try starts with a guarded UPDATE (`pending|failed → delivering`, rowcount 1
  = ours), so two workers never deliver the same try. The UPDATE also refuses
  while the endpoint is paused, and while an earlier event of the same message
  to the same endpoint is still open (pending/delivering/failed): per-message
  order holds even while that earlier event is being retried.
- No transaction or lock is held during the HTTP call.
- Failures are retried on the policy's schedule (webhooks.policy); short
  waits ride on a Celery countdown, long ones on `next_attempt_at` + the beat
  sweep (`deliver_due`), which claims rows with FOR UPDATE SKIP LOCKED.
- Every try writes a WebhookDelivery row and the endpoint's health columns; the
  endpoint is paused after N consecutive failures (or at once on 410 Gone).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from tuco.celery import task_named
from tuco.http import bounded_request
from tuco.logging import get_logger
from tuco.metrics import webhook_delivery_observe
from tuco.timefmt import iso
from tuco.urlsafety import blocked_reason, guarded_session
from webhooks import policy
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.signing import signed_headers

log = get_logger(__name__)

Status = WebhookEvent.Status
SNIPPET_CHARS = 500
_READ_BYTES = 4096


@dataclass
class HttpResult:
    success: bool
    status_code: int | None
    latency_ms: int
    response: str
    error: str


def post_signed(*, url: str, secret: str, body: bytes, event_type: str, event_id: str,
                timeout: float | None = None) -> HttpResult:
    """POST `body` signed with `secret` through the SSRF-guarded session. Never raises for HTTP trouble.

    Redirects are not followed (a 3xx is a failed try): the receiver must give
    its final URL, and a redirect must not turn the POST into someone else's GET.
    """
    timeout = policy.REQUEST_TIMEOUT_SECONDS if timeout is None else timeout
    headers = signed_headers(secret=secret, body=body, event=event_type, timestamp=iso(timezone.now()) or "",
                             event_id=event_id)
    started = time.monotonic()
    status_code: int | None = None
    snippet = ""
    error = ""
    session = guarded_session()
    try:
        # The whole call within `timeout`, and only the first few KB of whatever the receiver answers.
        response = bounded_request(session, "POST", url, data=body, headers=headers, allow_redirects=False,
                                   deadline=timeout, max_bytes=_READ_BYTES, truncate=True)
        status_code = response.status_code
        snippet = response.content.decode(response.encoding or "utf-8", errors="replace")[:SNIPPET_CHARS]
    except requests.Timeout:
        error = f"Timed out after {timeout:g}s"
    except requests.RequestException as exc:
        blocked = blocked_reason(exc)
        error = f"Blocked: {blocked}" if blocked else f"Connection failed: {exc}"
    finally:
        session.close()
    latency_ms = int((time.monotonic() - started) * 1000)
    success = status_code is not None and 200 <= status_code < 300
    if status_code is not None and not success:
        error = f"HTTP {status_code}"
    return HttpResult(success=success, status_code=status_code, latency_ms=latency_ms, response=snippet,
                      error=error[:2000])


# --- waking workers -------------------------------------------------------------


# The delivery task, published by its registered name (webhooks.tasks registers it; this module
# sits below the task layer and does not import it).
DELIVER_EVENT_TASK = "tuco.webhooks.tasks.deliver_webhook_event"


def enqueue_delivery(event_pk: int, *, countdown: float | None = None) -> bool:
    """Hand the delivery task to the broker. Never raises: the beat sweep is the safety net."""
    try:
        task_named(DELIVER_EVENT_TASK).apply_async(args=[event_pk], countdown=countdown)
        return True
    except Exception as exc:  # kombu raises several types for "broker down"
        log.warning("webhook.enqueue_failed", eventPk=event_pk, error=str(exc))
        # Let the next sweep pick it up instead of waiting for REENQUEUE_AFTER.
        WebhookEvent.objects.filter(pk=event_pk, status__in=WebhookEvent.CLAIMABLE).update(enqueued_at=None)
        return False


def enqueue_many(event_pks: list[int]) -> None:
    for pk in event_pks:
        enqueue_delivery(pk)


# --- one try ----------------------------------------------------------------------

_EVENT_TABLE = WebhookEvent._meta.db_table
_ENDPOINT_TABLE = WebhookEndpoint._meta.db_table

# Every condition is on the target row itself or in (NOT) EXISTS, so a concurrent
# claimer that waited on the row lock re-checks `status` on the new row version
# and matches nothing (an `id IN (subquery)` form would not re-check it).
_CLAIM_SQL = f"""
UPDATE "{_EVENT_TABLE}" e
SET status = %s, delivering_since = %s, attempt_count = e.attempt_count + 1,
    round_attempts = e.round_attempts + 1
WHERE e.id = %s AND e.status = ANY(%s) AND e.next_attempt_at <= %s
  AND EXISTS (SELECT 1 FROM "{_ENDPOINT_TABLE}" p WHERE p.id = e.endpoint_id AND p.is_active)
  AND (e.message_id = '' OR NOT EXISTS (
        SELECT 1 FROM "{_EVENT_TABLE}" b
        WHERE b.endpoint_id = e.endpoint_id AND b.message_id = e.message_id AND b.id < e.id
          AND b.status = ANY(%s)))
RETURNING e.id
"""


def claim_event(event_pk: int, *, now: datetime | None = None) -> bool:
    """Start one try of the event if it is due, its endpoint active and nothing earlier of its message open."""
    now = now or timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, [Status.DELIVERING, now, event_pk, list(WebhookEvent.CLAIMABLE), now,
                                    list(WebhookEvent.OPEN)])
        return cursor.fetchone() is not None


def deliver_event(event_pk: int) -> str:
    """Claim and try one event. Returns "delivered", "failed" (retry scheduled), "dead" or "skipped"."""
    if not claim_event(event_pk):
        return "skipped"
    event = WebhookEvent.objects.select_related("endpoint").filter(pk=event_pk).first()
    if event is None:  # the endpoint was deleted in between
        return "skipped"
    endpoint = event.endpoint
    result = post_signed(url=endpoint.url, secret=endpoint.secret, body=event.body.encode(),
                         event_type=event.event_type, event_id=event.event_id)
    return _record_result(event, endpoint, result)


def _record_result(event: WebhookEvent, endpoint: WebhookEndpoint, result: HttpResult) -> str:
    at = timezone.now()
    delay = None if result.success else policy.retry_delay(event.round_attempts)
    if result.success:
        status = Status.DELIVERED
    elif delay is None:
        status = Status.DEAD
    else:
        status = Status.FAILED
    countdown = delay if delay is not None and delay <= policy.MAX_COUNTDOWN_SECONDS else None
    fields: dict[str, Any] = {
        "status": status, "delivering_since": None, "last_status_code": result.status_code,
        "last_error": result.error,
        "next_attempt_at": at + timedelta(seconds=delay) if delay is not None else None,
        # A countdown task is "in the broker" until it should have run; long waits wait for the sweep.
        "enqueued_at": at + timedelta(seconds=countdown) if countdown is not None else None,
    }
    if result.success:
        fields["delivered_at"] = at
    with transaction.atomic():
        updated = WebhookEvent.objects.filter(pk=event.pk, status=Status.DELIVERING,
                                              attempt_count=event.attempt_count).update(**fields)
        if not updated:
            # The sweep gave this try up as stuck (or the endpoint was deleted): its result no longer counts.
            log.warning("webhook.result_discarded", eventId=event.event_id, attempt=event.attempt_count)
            return "skipped"
        WebhookDelivery.objects.create(
            event_id=event.pk, attempt=event.attempt_count, at=at, url=endpoint.url, success=result.success,
            status_code=result.status_code, latency_ms=result.latency_ms, response_snippet=result.response,
            error=result.error)
        _record_endpoint_health(endpoint, result, at)
        if status in (Status.DELIVERED, Status.DEAD):
            transaction.on_commit(lambda: kick_next(endpoint_id=endpoint.pk, message_id=event.message_id))
        elif countdown is not None:
            transaction.on_commit(lambda: enqueue_delivery(event.pk, countdown=countdown))
    log.info(f"webhook.{status}", eventId=event.event_id, eventType=event.event_type, endpointId=endpoint.pk,
             messageId=event.message_id, workspaceId=event.workspace_id, attempt=event.attempt_count,
             statusCode=result.status_code, latencyMs=result.latency_ms, error=result.error or None,
             nextAttemptAt=iso(fields["next_attempt_at"]))
    webhook_delivery_observe(outcome=str(status), status_code=result.status_code, event_created_at=event.created_at,
                             at=at)
    return str(status)


def _record_endpoint_health(endpoint: WebhookEndpoint, result: HttpResult, at: datetime) -> None:
    rows = WebhookEndpoint.objects.filter(pk=endpoint.pk)
    if result.success:
        rows.update(failure_count=0, last_success_at=at, last_triggered_at=at)
        return
    rows.update(failure_count=F("failure_count") + 1, last_failure_at=at, last_triggered_at=at)
    threshold = policy.pause_after_failures()
    if result.status_code == 410:
        reason = "Paused: the endpoint answered 410 Gone"
        pausing = rows.filter(is_active=True)
    else:
        reason = f"Paused after {threshold} consecutive failed deliveries (last: {result.error})"
        pausing = rows.filter(is_active=True, failure_count__gte=threshold)
    if pausing.update(is_active=False, paused_by=WebhookEndpoint.PausedBy.FAILURES, paused_reason=reason[:500],
                      paused_at=at):
        log.warning("webhook.endpoint_paused", endpointId=endpoint.pk, workspaceId=endpoint.workspace_id,
                    reason=reason)


def kick_next(*, endpoint_id: str, message_id: str) -> None:
    """Wake the next waiting event of the same message to the same endpoint (order is kept by the claim)."""
    if not message_id:
        return
    next_pk = (WebhookEvent.objects.filter(endpoint_id=endpoint_id, message_id=message_id,
                                           status__in=WebhookEvent.CLAIMABLE)
               .order_by("pk").values_list("pk", flat=True).first())
    if next_pk is not None:
        WebhookEvent.objects.filter(pk=next_pk).update(enqueued_at=timezone.now())
        enqueue_delivery(next_pk)


# --- the beat sweep ---------------------------------------------------------------


def _earlier_open_event() -> Exists:
    return Exists(WebhookEvent.objects.filter(
        endpoint_id=OuterRef("endpoint_id"), message_id=OuterRef("message_id"), pk__lt=OuterRef("pk"),
        status__in=WebhookEvent.OPEN,
    ).exclude(message_id=""))


def deliver_due(*, now: datetime | None = None, batch: int | None = None) -> int:
    """Enqueue every due, deliverable event (beat, every sweep interval). Returns how many were enqueued.

    Rows are picked with FOR UPDATE SKIP LOCKED and stamped `enqueued_at`, so two
    concurrent sweeps never hand out the same row and a row whose task is
    already in the broker is not handed out again for REENQUEUE_AFTER.
    """
    now = now or timezone.now()
    batch = batch or settings.TUCO_SWEEP_BATCH_SIZE
    release_stuck(now=now, batch=batch)
    endpoint_active = Exists(WebhookEndpoint.objects.filter(pk=OuterRef("endpoint_id"), is_active=True))
    with transaction.atomic():
        pks = list(
            WebhookEvent.objects.filter(status__in=WebhookEvent.CLAIMABLE, next_attempt_at__lte=now)
            .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - policy.REENQUEUE_AFTER))
            .filter(endpoint_active)
            .filter(~_earlier_open_event())
            .order_by("next_attempt_at")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:batch]
        )
        if pks:
            WebhookEvent.objects.filter(pk__in=pks).update(enqueued_at=now)
            transaction.on_commit(lambda: enqueue_many(pks))
    if pks:
        log.info("webhook.sweep_enqueued", count=len(pks))
    return len(pks)


def release_stuck(*, now: datetime, batch: int = 500) -> int:
    """Give back tries whose worker died mid-delivery: retry now (at-least-once), or dead if out of budget."""
    cutoff = now - policy.STUCK_AFTER
    released = 0
    with transaction.atomic():
        rows = list(WebhookEvent.objects.filter(status=Status.DELIVERING, delivering_since__lt=cutoff)
                    .select_for_update(skip_locked=True, of=("self",))
                    .values("pk", "attempt_count", "round_attempts", "endpoint_id", "message_id",
                            "endpoint__url")[:batch])
        for row in rows:
            out_of_budget = policy.retry_delay(row["round_attempts"]) is None
            status = Status.DEAD if out_of_budget else Status.FAILED
            error = "The worker delivering it stopped; the outcome of this try is unknown"
            if not WebhookEvent.objects.filter(pk=row["pk"], status=Status.DELIVERING,
                                               attempt_count=row["attempt_count"]).update(
                    status=status, delivering_since=None, next_attempt_at=None if out_of_budget else now,
                    enqueued_at=None, last_error=error):
                continue
            released += 1
            WebhookDelivery.objects.get_or_create(event_id=row["pk"], attempt=row["attempt_count"],
                                                  defaults={"at": now, "url": row["endpoint__url"] or "",
                                                            "error": error})
            if out_of_budget:
                endpoint_id, message_id = row["endpoint_id"], row["message_id"]
                transaction.on_commit(lambda e=endpoint_id, m=message_id: kick_next(endpoint_id=e, message_id=m))
    if released:
        log.warning("webhook.stuck_released", count=released)
    return released
