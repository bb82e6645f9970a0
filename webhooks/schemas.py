"""OpenAPI descriptions of the webhooks API (documentation only; requests are parsed by hand in api.py)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from tuco.schema_fields import Error, ndt, nstr
from webhooks.models import EVENT_TYPES, WebhookEvent

__all__ = ["Error"]

_EVENTS_HELP = "Event types to receive; at least one of: " + ", ".join(EVENT_TYPES)


class WebhookCreateInput(serializers.Serializer):
    url = serializers.CharField(help_text="Receiver URL; https required in production (private addresses refused).")
    events = serializers.ListField(child=serializers.ChoiceField(choices=list(EVENT_TYPES)), min_length=1,
                                   help_text=_EVENTS_HELP)
    name = serializers.CharField()
    description = serializers.CharField(required=False, allow_blank=True)


class WebhookUpdateInput(serializers.Serializer):
    url = serializers.CharField(required=False)
    events = serializers.ListField(child=serializers.ChoiceField(choices=list(EVENT_TYPES)), min_length=1,
                                   required=False, help_text="Replaces the whole list (no merge).")
    name = serializers.CharField(required=False)
    description = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    isActive = serializers.BooleanField(required=False,
                                        help_text="false pauses delivery without deleting; true resumes it.")


class WebhookCreated(serializers.Serializer):
    id = serializers.CharField()
    secret = serializers.CharField(help_text="HMAC-SHA256 signing secret. Returned only here, once.")
    url = serializers.CharField()
    events = serializers.ListField(child=serializers.CharField())
    name = serializers.CharField()
    description = nstr()
    isActive = serializers.BooleanField()
    createdAt = serializers.DateTimeField()
    warning = serializers.CharField()


class WebhookDoc(serializers.Serializer):
    id = serializers.CharField()
    url = serializers.CharField()
    events = serializers.ListField(child=serializers.CharField())
    name = serializers.CharField()
    description = nstr()
    isActive = serializers.BooleanField()
    pausedReason = nstr(help_text="Why delivery is paused (by the integrator, or automatically after failures).")
    lastTriggeredAt = ndt(help_text="Last delivery try (any outcome).")
    lastSuccessAt = ndt()
    lastFailureAt = ndt()
    failureCount = serializers.IntegerField(help_text="Consecutive failed tries; reset by a success.")
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()


class WebhookListResponse(serializers.Serializer):
    webhooks = WebhookDoc(many=True)


class WebhookUpdateResponse(serializers.Serializer):
    success = serializers.BooleanField()
    webhook = WebhookDoc()


class WebhookSuccessResponse(serializers.Serializer):
    success = serializers.BooleanField()


class WebhookHealthCheckResponse(serializers.Serializer):
    success = serializers.BooleanField(help_text="Whether the endpoint answered 2xx.")
    message = serializers.CharField(required=False)
    statusCode = serializers.IntegerField(allow_null=True)
    response = nstr(help_text="The first 500 characters of the endpoint's response body.")
    latencyMs = serializers.IntegerField()
    eventId = serializers.CharField(help_text="X-Tuco-Event-Id of the ping.")
    error = serializers.CharField(required=False)
    details = serializers.CharField(required=False)


class WebhookDeliveryAttemptDoc(serializers.Serializer):
    attempt = serializers.IntegerField()
    at = serializers.DateTimeField()
    url = serializers.CharField()
    success = serializers.BooleanField()
    statusCode = serializers.IntegerField(allow_null=True)
    latencyMs = serializers.IntegerField(allow_null=True)
    response = nstr()
    error = nstr()


class WebhookEventDoc(serializers.Serializer):
    eventId = serializers.CharField(help_text="Stable across tries and replays (X-Tuco-Event-Id).")
    event = serializers.CharField()
    messageId = nstr()
    status = serializers.ChoiceField(choices=WebhookEvent.Status.values)
    attemptCount = serializers.IntegerField()
    nextAttemptAt = ndt()
    lastStatusCode = serializers.IntegerField(allow_null=True)
    lastError = nstr()
    deliveredAt = ndt()
    createdAt = serializers.DateTimeField()
    payload = serializers.DictField(help_text="The body as sent.")
    attempts = WebhookDeliveryAttemptDoc(many=True)


class WebhookDeliveriesResponse(serializers.Serializer):
    events = WebhookEventDoc(many=True)
    nextCursor = nstr()
    hasMore = serializers.BooleanField()
    limit = serializers.IntegerField()


class WebhookReplayResponse(serializers.Serializer):
    success = serializers.BooleanField()
    eventId = serializers.CharField()
    status = serializers.CharField()


ID_PARAMETER = OpenApiParameter("webhook_id", str, OpenApiParameter.PATH, description="Webhook id (24 hex)")
EVENT_ID_PARAMETER = OpenApiParameter("event_id", str, OpenApiParameter.PATH, description="Event id (24 hex)")
DELIVERIES_PARAMETERS = [
    ID_PARAMETER,
    OpenApiParameter("status", str, enum=WebhookEvent.Status.values),
    OpenApiParameter("event", str, enum=list(EVENT_TYPES)),
    OpenApiParameter("cursor", str, description="nextCursor of the previous page"),
    OpenApiParameter("limit", int, description="1-100, default 50"),
]
