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
from tuco.db import checked_connection
from tuco.ids import OBJECT_ID_RE
from tuco.logging import get_logger

log = get_logger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"


def signature_valid(request: HttpRequest, *, workspace_id: str, auth_token: str, expected_url: str = "") -> bool:
    """Twilio signs the URL it called plus the POST fields. Behind a proxy the URL Django sees
    may differ from the one Twilio used, so the URL we registered (TUCO_PUBLIC_URL) is tried first."""
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not signature or not auth_token:
        return False
    validator = RequestValidator(auth_token)
    for url in (expected_url or twilio_status_callback_url(workspace_id), request.build_absolute_uri()):
        if validator.validate(url, request.POST, signature):
            return True
    return False


def nul_refusal(request: HttpRequest) -> JsonResponse | None:
    """A 400 when a form field holds a NUL (PostgreSQL text cannot; Twilio never sends one), else None."""
    if any("\x00" in name or any("\x00" in value for value in values) for name, values in request.POST.lists()):
        return JsonResponse({"error": "Form fields must not contain NUL characters", "code": "INVALID_BODY"},
                            status=400)
    return None


@csrf_exempt
@require_POST
@checked_connection
def twilio_status(request: HttpRequest) -> HttpResponse:
    workspace_id = request.GET.get("ws", "")
    config = None
    if OBJECT_ID_RE.match(workspace_id):
        config = FallbackConfig.objects.filter(workspace_id=workspace_id).first()
    token = config.twilio_auth_token if config else ""
    if not signature_valid(request, workspace_id=workspace_id, auth_token=token):
        log.warning("twilio.status_bad_signature", workspaceId=workspace_id or None)
        return JsonResponse({"error": "Invalid signature"}, status=403)
    if refused := nul_refusal(request):
        return refused
    update = normalize_twilio(workspace_id=workspace_id, params=request.POST.dict())
    if update is None:
        return JsonResponse({"ok": True, "result": "ignored"})
    return JsonResponse({"ok": True, "result": status_update_apply(update)})


EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


@csrf_exempt
@require_POST
@checked_connection
def twilio_inbound(request: HttpRequest) -> HttpResponse:
    """POST /hooks/twilio/inbound?ws=<workspaceId>: an SMS reply to the workspace's Twilio number.

    Stored on the sender's thread like any reply (message.reply webhook, STOP → do-not-contact).
    Answers empty TwiML so Twilio sends no automatic reply.
    """
    from fallback.config import twilio_inbound_url
    from messaging.inbound import inbound_store

    workspace_id = request.GET.get("ws", "")
    config = None
    if OBJECT_ID_RE.match(workspace_id):
        config = FallbackConfig.objects.filter(workspace_id=workspace_id).first()
    token = config.twilio_auth_token if config else ""
    if not signature_valid(request, workspace_id=workspace_id, auth_token=token,
                           expected_url=twilio_inbound_url(workspace_id)):
        log.warning("twilio.inbound_bad_signature", workspaceId=workspace_id or None)
        return JsonResponse({"error": "Invalid signature"}, status=403)
    if refused := nul_refusal(request):
        return refused
    sender, sid = request.POST.get("From", ""), request.POST.get("MessageSid", "")
    if sender and sid:
        result = inbound_store(workspace_id=workspace_id, line=None, raw_address=sender,
                               text=request.POST.get("Body", ""), external_id=sid, message_type="sms")
        log.info("twilio.inbound", workspaceId=workspace_id, result=result)
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")
