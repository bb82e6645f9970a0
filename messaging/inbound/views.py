"""Provider callbacks: POST /hooks/bluebubbles/<lineId>, /hooks/email/<lineId> (each authenticated by the
line's secret in the URL, ?secret=…), /hooks/twilio/status and /hooks/twilio/inbound (?ws=<workspaceId>,
authenticated by Twilio's signature with the workspace's auth token).

Each view is thin: authenticate → normalize the payload into an InboundEvent → hand it to messaging.
Every recognised or unknown event answers 200 quickly (BlueBubbles does not retry; Twilio must not
retry into a storm); only a bad secret, signature or body is refused.
"""

from __future__ import annotations

import hmac

from django.core.exceptions import RequestDataTooBig
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from rest_framework.exceptions import ParseError

from fallback.config import twilio_inbound_url
from fallback.models import FallbackConfig
from lines.models import Line
from messaging.inbound import bluebubbles, email, twilio
from messaging.inbound.events import EventType
from messaging.inbound.store import reply_store
from messaging.inbound.tracking import email_bounce_apply, relay_event_apply, twilio_status_apply
from tuco.db import checked_connection
from tuco.ids import OBJECT_ID_RE, is_object_id
from tuco.limits import body_limit_for
from tuco.logging import get_logger
from tuco.parsers import loads_strict

log = get_logger(__name__)


def _authenticated_line(request: HttpRequest, line_id: str, lines: QuerySet[Line]) -> Line | None:
    """The active line the URL names, if its `?secret=` is that line's; None answers 404 (unknown, wrong
    secret, inactive line and a line of the other channel alike)."""
    line = lines.filter(pk=line_id, is_active=True).first() if is_object_id(line_id) else None
    secret = request.GET.get("secret", "")
    if line is None or not hmac.compare_digest(line.webhook_secret.encode(), secret.encode()):
        return None
    return line


@csrf_exempt
@require_POST
@checked_connection
def bluebubbles_webhook(request: HttpRequest, line_id: str) -> JsonResponse:
    line = _authenticated_line(request, line_id, Line.objects.select_related("device", "workspace")
                               .filter(channel_type=Line.Channel.PHONE))
    if line is None:
        return JsonResponse({"error": "Not found"}, status=404)
    try:
        # The API's rules (tuco.parsers): no NUL (PostgreSQL text cannot hold it), no 1,000-deep nesting, no NaN.
        payload = loads_strict((request.body or b"{}").decode("utf-8"))
    except (ParseError, UnicodeDecodeError):
        return JsonResponse({"error": "Invalid JSON body", "code": "INVALID_JSON"}, status=400)
    if not isinstance(payload, dict):
        return JsonResponse({"error": "Body must be a JSON object", "code": "INVALID_BODY"}, status=400)
    event_type = str(payload.get("type") or "")
    event = bluebubbles.relay_event(event_type, payload.get("data") or {})
    if event is None:
        result = "ignored"
    elif event.event_type == EventType.REPLY:
        result = reply_store(workspace_id=line.workspace_id, line=line, event=event)
    else:
        result = relay_event_apply(line=line, event=event)
    log.info("relay.webhook", lineId=line.pk, type=event_type, result=result, workspaceId=line.workspace_id)
    return JsonResponse({"ok": True, "result": result})


def _raw_email(request: HttpRequest) -> bytes:
    """The raw message: the body itself (message/rfc822 and the like), or the form field SendGrid's
    raw Inbound Parse (`email`) or Mailgun's MIME route (`body-mime`) puts it in. Read as a stream under
    TUCO_INBOUND_EMAIL_MAX_BYTES: request.body and request.POST would apply the API's 1 MB limit."""
    limit = body_limit_for(request.path) or 0
    raw = request.read(limit + 1)
    if len(raw) > limit:
        raise RequestDataTooBig("inbound email over TUCO_INBOUND_EMAIL_MAX_BYTES")
    content_type = request.META.get("CONTENT_TYPE") or ""
    if content_type.startswith(("multipart/", "application/x-www-form-urlencoded")):
        return email.form_field(raw, content_type, ("email", "body-mime"))
    return raw


@csrf_exempt
@require_POST
@checked_connection
def email_inbound_webhook(request: HttpRequest, line_id: str) -> JsonResponse:
    """POST /hooks/email/<lineId>?secret=<per-line secret>: a reply to an email line, as raw RFC 822.

    Stored on the sender's thread like any reply (linked to the email it answers by In-Reply-To /
    References, message.reply webhook, STOP → do-not-contact); a repeat of the same Message-ID is
    stored once.
    """
    line = _authenticated_line(request, line_id,
                               Line.objects.select_related("workspace").filter(channel_type=Line.Channel.EMAIL))
    if line is None:
        return JsonResponse({"error": "Not found"}, status=404)
    try:
        mail = email.parse_inbound_email(_raw_email(request))
    except email.NotAnEmail as exc:
        return JsonResponse({"error": f"Not an email: {exc}", "code": "INVALID_EMAIL_MESSAGE"}, status=400)
    if mail.bounce is not None:
        result = email_bounce_apply(line=line, event=email.bounce_event(mail.bounce))
    else:
        result = reply_store(workspace_id=line.workspace_id, line=line, event=email.reply_event(mail))
    log.info("email.inbound", lineId=line.pk, result=result, workspaceId=line.workspace_id,
             answered=bool(mail.answers))
    return JsonResponse({"ok": True, "result": result})


def _nul_refusal(request: HttpRequest) -> JsonResponse | None:
    """A 400 when a form field holds a NUL (PostgreSQL text cannot; Twilio never sends one), else None."""
    if any("\x00" in name or any("\x00" in value for value in values) for name, values in request.POST.lists()):
        return JsonResponse({"error": "Form fields must not contain NUL characters", "code": "INVALID_BODY"},
                            status=400)
    return None


def _twilio_signed(request: HttpRequest, *, expected_url: str = "") -> str | None:
    """The workspace (?ws=) whose Twilio auth token signed this request, or None."""
    workspace_id = request.GET.get("ws", "")
    config = None
    if OBJECT_ID_RE.match(workspace_id):
        config = FallbackConfig.objects.filter(workspace_id=workspace_id).first()
    token = config.twilio_auth_token if config else ""
    if not twilio.signature_valid(request, workspace_id=workspace_id, auth_token=token, expected_url=expected_url):
        return None
    return workspace_id


@csrf_exempt
@require_POST
@checked_connection
def twilio_status(request: HttpRequest) -> HttpResponse:
    """POST /hooks/twilio/status?ws=<workspaceId>: Twilio delivery callbacks (unknown MessageSid or status → 200)."""
    workspace_id = _twilio_signed(request)
    if workspace_id is None:
        log.warning("twilio.status_bad_signature", workspaceId=request.GET.get("ws", "") or None)
        return JsonResponse({"error": "Invalid signature"}, status=403)
    if refused := _nul_refusal(request):
        return refused
    event = twilio.status_event(request.POST.dict())
    if event is None:
        return JsonResponse({"ok": True, "result": "ignored"})
    return JsonResponse({"ok": True, "result": twilio_status_apply(workspace_id=workspace_id, event=event)})


EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


@csrf_exempt
@require_POST
@checked_connection
def twilio_inbound(request: HttpRequest) -> HttpResponse:
    """POST /hooks/twilio/inbound?ws=<workspaceId>: an SMS reply to the workspace's Twilio number.

    Stored on the sender's thread like any reply (message.reply webhook, STOP → do-not-contact).
    Answers empty TwiML so Twilio sends no automatic reply.
    """
    workspace_id = _twilio_signed(request, expected_url=twilio_inbound_url(request.GET.get("ws", "")))
    if workspace_id is None:
        log.warning("twilio.inbound_bad_signature", workspaceId=request.GET.get("ws", "") or None)
        return JsonResponse({"error": "Invalid signature"}, status=403)
    if refused := _nul_refusal(request):
        return refused
    event = twilio.reply_event(request.POST.dict())
    if event is not None:
        result = reply_store(workspace_id=workspace_id, line=None, event=event)
        log.info("twilio.inbound", workspaceId=workspace_id, result=result)
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")
