from __future__ import annotations

from django.urls import path

from messaging.inbound import views

urlpatterns = [
    path("bluebubbles/<str:line_id>", views.bluebubbles_webhook, name="hooks-bluebubbles"),
    path("email/<str:line_id>", views.email_inbound_webhook, name="hooks-email-inbound"),
    path("twilio/status", views.twilio_status, name="twilio-status"),
    path("twilio/inbound", views.twilio_inbound, name="twilio-inbound"),
]
