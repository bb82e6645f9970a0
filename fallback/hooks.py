"""POST /hooks/twilio/status?ws=<workspaceId>: Twilio delivery callbacks.

verify (X-Twilio-Signature with the workspace's auth token) → normalize →
apply (fallback.callbacks). Bad or missing signature → 403; anything we cannot
match (unknown MessageSid, unknown status) → 200, so Twilio never retries into
a storm.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

from fallback.callbacks import normalize_twilio, status_update_apply
from fallback.config import twilio_status_callback_url
from fallback.models import FallbackConfig
from tuco.ids import OBJECT_ID_RE
from tuco.logging import get_logger

log = get_logger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"


def signature_valid(request: HttpRequest, *, workspace_id: str, auth_token: str) -> bool:
    """Twilio signs the URL it called plus the POST fields. Behind a proxy the URL Django sees
    may differ from the one Twilio used, so the URL we registered (TUCO_PUBLIC_URL) is tried first."""
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not signature or not auth_token:
        return False
    validator = RequestValidator(auth_token)
    for url in (twilio_status_callback_url(workspace_id), request.build_absolute_uri()):
        if validator.validate(url, request.POST, signature):
            return True
    return False


@csrf_exempt
@require_POST
def twilio_status(request: HttpRequest) -> HttpResponse:
    workspace_id = request.GET.get("ws", "")
    config = None
    if OBJECT_ID_RE.match(workspace_id):
        config = FallbackConfig.objects.filter(workspace_id=workspace_id).first()
    token = config.twilio_auth_token if config else ""
    if not signature_valid(request, workspace_id=workspace_id, auth_token=token):
        log.warning("twilio.status_bad_signature", workspaceId=workspace_id or None)
        return JsonResponse({"error": "Invalid signature"}, status=403)
    update = normalize_twilio(workspace_id=workspace_id, params=request.POST.dict())
    if update is None:
        return JsonResponse({"ok": True, "result": "ignored"})
    return JsonResponse({"ok": True, "result": status_update_apply(update)})
