"""Write paths of outgoing webhooks: endpoints (create, update, pause/resume, delete), replay, health check.

The API, the admin and commands call these; none of them writes the rows itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from tuco.errors import BadRequest
from tuco.ids import new_id
from tuco.logging import get_logger
from tuco.models import Workspace
from tuco.urlsafety import UnsafeUrl, check_url
from webhooks import delivery, policy
from webhooks.models import EVENT_TYPES, WebhookEndpoint, WebhookEvent
from webhooks.payloads import health_check_payload
from webhooks.signing import encode_body, new_secret

log = get_logger(__name__)

MAX_ENDPOINTS_PER_WORKSPACE = 25
MAX_URL_CHARS = 2000
MAX_NAME_CHARS = 200
MAX_DESCRIPTION_CHARS = 1000
SECRET_WARNING = "Save this secret now: it is used to verify X-Tuco-Signature and will not be shown again."
USER_PAUSE_REASON = "Paused by the integrator (isActive: false)"


# --- validation (shared by the API and the admin form) ---------------------------------


def validate_url(raw: Any) -> str:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise BadRequest("url is required", code="VALIDATION_ERROR")
    if not isinstance(raw, str) or len(raw) > MAX_URL_CHARS:
        raise BadRequest("Invalid URL format", code="INVALID_URL")
    try:
        return check_url(raw)
    except UnsafeUrl as exc:
        raise BadRequest(f"Invalid URL: {exc}", code="INVALID_URL")


def validate_events(raw: Any) -> list[str]:
    if not isinstance(raw, list) or not raw:
        raise BadRequest("events must be a non-empty array of event types", code="INVALID_EVENTS")
    invalid = [str(e) for e in raw if not isinstance(e, str) or e not in EVENT_TYPES]
    if invalid:
        raise BadRequest(f"Invalid event types: {', '.join(invalid)}. Allowed: {', '.join(EVENT_TYPES)}",
                         code="INVALID_EVENTS")
    return list(dict.fromkeys(raw))  # de-duplicated, order kept (the first one names the health-check ping)


def validate_name(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise BadRequest("name is required", code="VALIDATION_ERROR")
    if len(raw.strip()) > MAX_NAME_CHARS:
        raise BadRequest(f"name must be at most {MAX_NAME_CHARS} characters", code="VALIDATION_ERROR")
    return raw.strip()


def validate_description(raw: Any) -> str:
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise BadRequest("description must be a string", code="VALIDATION_ERROR")
    if len(raw) > MAX_DESCRIPTION_CHARS:
        raise BadRequest(f"description must be at most {MAX_DESCRIPTION_CHARS} characters", code="VALIDATION_ERROR")
    return raw.strip()


# --- endpoints ---------------------------------------------------------------------------


def webhook_create(*, workspace: Workspace, url: str, events: list[str], name: str,
                   description: str = "") -> WebhookEndpoint:
    """Create an active endpoint with a fresh secret (the caller shows `endpoint.secret` once)."""
    url = validate_url(url)
    events = validate_events(events)
    name = validate_name(name)
    description = validate_description(description)
    if WebhookEndpoint.objects.filter(workspace=workspace).count() >= MAX_ENDPOINTS_PER_WORKSPACE:
        raise BadRequest(f"Webhook limit reached: at most {MAX_ENDPOINTS_PER_WORKSPACE} webhooks per workspace",
                         code="WEBHOOK_LIMIT")
    endpoint = WebhookEndpoint.objects.create(workspace=workspace, url=url, events=events, name=name,
                                              description=description, secret=new_secret())
    log.info("webhook.endpoint_created", endpointId=endpoint.pk, workspaceId=workspace.pk, events=events)
    return endpoint


@dataclass
class EndpointChanges:
    url: str | None = None
    events: list[str] | None = None
    name: str | None = None
    description: str | None = None
    is_active: bool | None = None


def webhook_update(*, endpoint: WebhookEndpoint, changes: EndpointChanges, reason: str = "") -> WebhookEndpoint:
    """Apply a PATCH: only the given fields change; `events` replaces the list; isActive pauses/resumes."""
    fields: dict[str, Any] = {}
    if changes.url is not None:
        fields["url"] = validate_url(changes.url)
    if changes.events is not None:
        fields["events"] = validate_events(changes.events)
    if changes.name is not None:
        fields["name"] = validate_name(changes.name)
    if changes.description is not None:
        fields["description"] = validate_description(changes.description)
    for name, value in fields.items():
        setattr(endpoint, name, value)
    if fields:
        endpoint.save(update_fields=[*fields, "updated_at"])
    if changes.is_active is True:
        webhook_activate(endpoint=endpoint)
    elif changes.is_active is False:
        webhook_pause(endpoint=endpoint, reason=reason or USER_PAUSE_REASON)
    endpoint.refresh_from_db()
    return endpoint


def webhook_pause(*, endpoint: WebhookEndpoint, reason: str = USER_PAUSE_REASON) -> bool:
    """Pause on purpose: nothing new is recorded; waiting events stay and resume on activation."""
    changed = WebhookEndpoint.objects.filter(pk=endpoint.pk).exclude(
        is_active=False, paused_by=WebhookEndpoint.PausedBy.USER).update(
        is_active=False, paused_by=WebhookEndpoint.PausedBy.USER, paused_reason=reason[:500],
        paused_at=timezone.now(), updated_at=timezone.now())
    if changed:
        log.info("webhook.endpoint_paused", endpointId=endpoint.pk, workspaceId=endpoint.workspace_id, reason=reason)
    return bool(changed)


def webhook_activate(*, endpoint: WebhookEndpoint) -> bool:
    """Resume a paused endpoint: failure streak cleared, waiting events retried now with a fresh budget.

    Two separate statements (no transaction spanning both): a delivery that
    records its result locks the event and then the endpoint, so holding the
    endpoint while updating its events could deadlock with it.
    """
    now = timezone.now()
    changed = WebhookEndpoint.objects.filter(pk=endpoint.pk, is_active=False).update(
        is_active=True, paused_by="", paused_reason="", paused_at=None, failure_count=0, updated_at=now)
    if not changed:
        return False
    waiting = WebhookEvent.objects.filter(endpoint_id=endpoint.pk, status__in=WebhookEvent.CLAIMABLE).update(
        next_attempt_at=now, enqueued_at=None, round_attempts=0)
    log.info("webhook.endpoint_resumed", endpointId=endpoint.pk, workspaceId=endpoint.workspace_id, waiting=waiting)
    return True


def webhook_delete(*, endpoint: WebhookEndpoint) -> None:
    """Remove the endpoint with its outbox and delivery log (an in-flight try's result is then discarded)."""
    endpoint_id, workspace_id = endpoint.pk, endpoint.workspace_id
    endpoint.delete()
    log.info("webhook.endpoint_deleted", endpointId=endpoint_id, workspaceId=workspace_id)


# --- events ------------------------------------------------------------------------------


def event_replay(*, event: WebhookEvent) -> bool:
    """Send a delivered or dead event again: a new try with the same event id and body. False if not replayable."""
    now = timezone.now()
    changed = WebhookEvent.objects.filter(pk=event.pk, status__in=WebhookEvent.REPLAYABLE).update(
        status=WebhookEvent.Status.PENDING, next_attempt_at=now, enqueued_at=now, round_attempts=0)
    if changed:
        pk = event.pk
        transaction.on_commit(lambda: delivery.enqueue_delivery(pk))
        log.info("webhook.event_replayed", eventId=event.event_id, endpointId=event.endpoint_id)
    return bool(changed)


# --- health check ------------------------------------------------------------------------


def webhook_health_check(*, endpoint: WebhookEndpoint) -> dict[str, Any]:
    """Send a real signed test ping now (10 s timeout) and report what came back.

    The ping is not an outbox event: it is not retried and does not change the
    endpoint's delivery statistics.
    """
    event_type = endpoint.events[0] if endpoint.events else EVENT_TYPES[0]
    event_id = new_id()
    body = encode_body(health_check_payload(event_type=event_type, workspace_id=endpoint.workspace_id,
                                            at=timezone.now(), event_id=event_id))
    result = delivery.post_signed(url=endpoint.url, secret=endpoint.secret, body=body, event_type=event_type,
                                  event_id=event_id)
    report: dict[str, Any] = {"success": result.success, "statusCode": result.status_code,
                              "response": result.response or None, "latencyMs": result.latency_ms,
                              "eventId": event_id}
    if result.success:
        report["message"] = "Webhook test successful"
    else:
        report["error"] = result.error
        report["details"] = _failure_details(result)
    log.info("webhook.health_check", endpointId=endpoint.pk, success=result.success, statusCode=result.status_code,
             latencyMs=result.latency_ms, error=result.error or None)
    return report


def _failure_details(result: delivery.HttpResult) -> str:
    if result.status_code is not None:
        return f"The endpoint answered HTTP {result.status_code}; a 2xx status is required."
    if result.error.startswith("Timed out"):
        return f"The endpoint did not answer within {policy.REQUEST_TIMEOUT_SECONDS:g} seconds."
    if result.error.startswith("Blocked"):
        return "The URL resolves to a private, loopback or link-local address, which Tuco does not call."
    return "The endpoint could not be reached."
