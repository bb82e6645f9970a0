from __future__ import annotations

from django.urls import path

from lines import hooks

urlpatterns = [
    path("bluebubbles/<str:line_id>", hooks.bluebubbles_webhook, name="hooks-bluebubbles"),
    path("email/<str:line_id>", hooks.email_inbound_webhook, name="hooks-email-inbound"),
]
