"""Inbound line webhooks: POST /hooks/bluebubbles/<lineId> (relay events) and POST /hooks/email/<lineId>
(email replies), each authenticated by the line's secret in the URL (?secret=…).

BlueBubbles signs nothing, so the per-line secret in the URL authenticates
the call. Every recognised or unknown event answers 200 quickly (the relay
does not retry anyway); only a bad secret or body is refused.
"""

from __future__ import annotations

import hmac

from django.core.exceptions import RequestDataTooBig
from django.db.models import QuerySet
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from rest_framework.exceptions import ParseError

from lines.email_inbound import NotAnEmail, form_field, parse_inbound_email
from lines.models import Line
from tuco.db import checked_connection
from tuco.ids import is_object_id
from tuco.limits import body_limit_for
from tuco.logging import get_logger
from tuco.parsers import loads_strict

log = get_logger(__name__)


def _authenticated_line(request: HttpRequest, line_id: str, lines: QuerySet[Line]) -> Line | None:
    """The line the URL names, if its `?secret=` is that line's; None answers 404 (unknown and wrong alike)."""
    line = lines.filter(pk=line_id).first() if is_object_id(line_id) else None
    secret = request.GET.get("secret", "")
    if line is None or not hmac.compare_digest(line.webhook_secret.encode(), secret.encode()):
        return None
    return line


@csrf_exempt
@require_POST
@checked_connection
def bluebubbles_webhook(request: HttpRequest, line_id: str) -> JsonResponse:
    line = _authenticated_line(request, line_id, Line.objects.select_related("device", "workspace"))
    if line is None:
        return JsonResponse({"error": "Not found"}, status=404)
    try:
        # The API's rules (tuco.parsers): no NUL (PostgreSQL text cannot hold it), no 1,000-deep nesting, no NaN.
        payload = loads_strict((request.body or b"{}").decode("utf-8"))
    except (ParseError, UnicodeDecodeError):
        return JsonResponse({"error": "Invalid JSON body", "code": "INVALID_JSON"}, status=400)
    if not isinstance(payload, dict):
        return JsonResponse({"error": "Body must be a JSON object", "code": "INVALID_BODY"}, status=400)
    from messaging.inbound import relay_event_received

    event_type = str(payload.get("type") or "")
    result = relay_event_received(line=line, event_type=event_type, data=payload.get("data") or {})
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
        return form_field(raw, content_type, ("email", "body-mime"))
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
    from messaging.inbound import inbound_store

    try:
        mail = parse_inbound_email(_raw_email(request))
    except NotAnEmail as exc:
        return JsonResponse({"error": f"Not an email: {exc}", "code": "INVALID_EMAIL_MESSAGE"}, status=400)
    result = inbound_store(workspace_id=line.workspace_id, line=line, raw_address=mail.sender, text=mail.text,
                           external_id=mail.message_id, message_type="email", received_at=mail.received_at,
                           attachment_names=mail.attachment_names, answers=mail.answers, subject=mail.subject)
    log.info("email.inbound", lineId=line.pk, result=result, workspaceId=line.workspace_id,
             answered=bool(mail.answers))
    return JsonResponse({"ok": True, "result": result})
