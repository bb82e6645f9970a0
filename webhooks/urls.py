from __future__ import annotations

from django.urls import path

from webhooks import api

urlpatterns = [
    path("webhooks", api.WebhooksApi.as_view(), name="webhooks"),
    path("webhooks/<str:webhook_id>", api.WebhookDetailApi.as_view(), name="webhook-detail"),
    path("webhooks/<str:webhook_id>/health-check", api.WebhookHealthCheckApi.as_view(), name="webhook-health-check"),
    path("webhooks/<str:webhook_id>/deliveries", api.WebhookDeliveriesApi.as_view(), name="webhook-deliveries"),
    path("webhooks/<str:webhook_id>/events/<str:event_id>/replay", api.WebhookEventReplayApi.as_view(),
         name="webhook-event-replay"),
]
