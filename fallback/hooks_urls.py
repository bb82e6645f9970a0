from __future__ import annotations

from django.urls import path

from fallback import hooks

urlpatterns = [
    path("twilio/status", hooks.twilio_status, name="twilio-status"),
    path("twilio/inbound", hooks.twilio_inbound, name="twilio-inbound"),
]
