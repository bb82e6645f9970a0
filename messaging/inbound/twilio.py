"""Twilio callbacks → InboundEvent, and the signature check that authenticates them.

Twilio signs the URL it called plus the POST fields with the workspace's auth token
(X-Twilio-Signature). A status callback names one of our SMS by MessageSid; an inbound SMS is a reply.
"""

from __future__ import annotations

from django.http import HttpRequest
from twilio.request_validator import RequestValidator

from fallback.config import twilio_status_callback_url
from fallback.providers.twilio import STATUS_MAP
from messaging.inbound.events import EventType, InboundEvent

SIGNATURE_HEADER = "X-Twilio-Signature"
TWILIO = "twilio"


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


def status_event(params: dict[str, str]) -> InboundEvent | None:
    """A delivery update (None: no MessageSid or a status we do not track)."""
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    raw = (params.get("MessageStatus") or params.get("SmsStatus") or "").lower()
    status = STATUS_MAP.get(raw)
    if not sid or status is None:
        return None
    code = (params.get("ErrorCode") or "").strip()
    return InboundEvent(EventType(status), TWILIO, external_id=sid, provider_status=raw,
                        error_code=code if code.isdigit() and code != "0" else "")


def reply_event(params: dict[str, str]) -> InboundEvent | None:
    """An SMS to the workspace's Twilio number (None without a sender or a MessageSid)."""
    sender, sid = params.get("From", ""), params.get("MessageSid", "")
    if not sender or not sid:
        return None
    return InboundEvent(EventType.REPLY, TWILIO, external_id=sid, channel="sms", sender=sender,
                        text=params.get("Body", ""))
