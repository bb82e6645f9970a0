"""Inbound relay webhooks: POST /hooks/bluebubbles/<lineId>?secret=<per-line secret>.

BlueBubbles signs nothing, so the per-line secret in the URL authenticates
the call. Every recognised or unknown event answers 200 quickly (the relay
does not retry anyway); only a bad secret or body is refused.
"""

from __future__ import annotations

import hmac
import json

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from lines.models import Line
from tuco.ids import is_object_id
from tuco.logging import get_logger

log = get_logger(__name__)


@csrf_exempt
@require_POST
def bluebubbles_webhook(request: HttpRequest, line_id: str) -> JsonResponse:
    line = Line.objects.select_related("device", "workspace").filter(pk=line_id).first() \
        if is_object_id(line_id) else None
    secret = request.GET.get("secret", "")
    if line is None or not hmac.compare_digest(line.webhook_secret.encode(), secret.encode()):
        return JsonResponse({"error": "Not found"}, status=404)
    try:
        payload = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return JsonResponse({"error": "Invalid JSON body", "code": "INVALID_JSON"}, status=400)
    if not isinstance(payload, dict):
        return JsonResponse({"error": "Body must be a JSON object", "code": "INVALID_BODY"}, status=400)
    from messaging.inbound import relay_event_received

    event_type = str(payload.get("type") or "")
    result = relay_event_received(line=line, event_type=event_type, data=payload.get("data") or {})
    log.info("relay.webhook", lineId=line.pk, type=event_type, result=result, workspaceId=line.workspace_id)
    return JsonResponse({"ok": True, "result": result})
