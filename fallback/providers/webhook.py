"""Custom webhook: the integrator's own endpoint sends the SMS.

A signed POST (same signing as outgoing webhooks, webhooks/signing.py) of
`{event: "message.fallback_sms", timestamp, workspaceId, data: {...}}` through
`guarded_session()`, so a URL that resolves to a private address is refused
at connect time in production. Any 2xx means sent. The event id header is the
idempotency key, stable across retries, so a receiver can drop duplicates;
that is what makes an ambiguous failure safe to retry here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import requests
from django.utils import timezone

from fallback.providers.base import ProviderResult, SendContext, error_from_requests
from tuco.http import bounded_request
from tuco.send_errors import SendError
from tuco.timefmt import iso
from tuco.urlsafety import blocked_reason, guarded_session
from webhooks.signing import SIGNATURE_HEADERS, encode_body, signed_headers

if TYPE_CHECKING:
    from fallback.models import FallbackConfig

EVENT = "message.fallback_sms"
TIMEOUT_SECONDS = 10.0  # the whole call: connect, headers and body (tuco.http)
MAX_RESPONSE_BYTES = 1024 * 1024
TRANSIENT_4XX = {408, 425, 429}


def _post(url: str, *, body: bytes, headers: dict[str, str]) -> requests.Response:
    """The HTTP seam: one guarded POST, redirects not followed (a POST must not turn into a GET)."""
    with guarded_session() as session:
        return bounded_request(session, "POST", url, data=body, headers=headers, allow_redirects=False,
                               deadline=TIMEOUT_SECONDS, max_bytes=MAX_RESPONSE_BYTES)


def build_payload(*, to: str, body: str, idempotency_key: str, context: SendContext | None,
                  timestamp: str) -> dict[str, Any]:
    ctx = context or SendContext()
    data: dict[str, Any] = {"messageId": ctx.message_id or None, "recipientPhone": to, "message": body,
                            "reason": ctx.reason or None, "idempotencyKey": idempotency_key}
    data.update(ctx.extra)
    return {"event": EVENT, "timestamp": timestamp, "workspaceId": ctx.workspace_id or None, "data": data}


class WebhookProvider:
    name: ClassVar[str] = "webhook"
    supports_idempotency: ClassVar[bool] = True

    def __init__(self, *, url: str, secret: str) -> None:
        self.url = url
        self._secret = secret

    def __repr__(self) -> str:  # never the secret
        return f"WebhookProvider(url={self.url!r})"

    @classmethod
    def from_config(cls, config: FallbackConfig) -> WebhookProvider:
        return cls(url=config.webhook_url, secret=config.webhook_secret)

    def request_summary(self, *, to: str, body: str) -> dict[str, Any]:
        return {"provider": self.name, "url": self.url, "to": to, "bodyLength": len(body), "event": EVENT}

    def send_sms(self, *, to: str, body: str, idempotency_key: str, status_callback_url: str | None,
                 context: SendContext | None = None) -> ProviderResult:
        timestamp = iso(timezone.now()) or ""
        raw = encode_body(build_payload(to=to, body=body, idempotency_key=idempotency_key, context=context,
                                        timestamp=timestamp))
        headers = signed_headers(secret=self._secret, body=raw, event=EVENT, timestamp=timestamp,
                                 event_id=idempotency_key)
        if not self._secret:
            for name in SIGNATURE_HEADERS:
                headers.pop(name)
        headers["Idempotency-Key"] = idempotency_key
        try:
            response = _post(self.url, body=raw, headers=headers)
        except requests.exceptions.RequestException as exc:
            reason = blocked_reason(exc)
            if reason:
                raise SendError(f"Fallback webhook URL refused: {reason}", "URL_BLOCKED", True) from None
            raise error_from_requests(exc, prefix="Fallback webhook") from None
        status = response.status_code
        if 200 <= status < 300:
            return ProviderResult(external_id=_external_id(response) or idempotency_key, status="sent",
                                  response_code=status)
        message = f"Fallback webhook answered {status}"
        code = f"WEBHOOK_HTTP_{status}"
        if 300 <= status < 400:
            raise SendError(f"{message} (redirects are not followed)", code, True, response_code=status)
        if status >= 500 or status in TRANSIENT_4XX:
            raise SendError(message, code, False, response_code=status, maybe_sent=status >= 500)
        raise SendError(message, code, True, response_code=status)


def _external_id(response: requests.Response) -> str:
    """A receiver may answer with its own id (`id`, `messageId`, `sid`); otherwise we keep our key."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    for key in ("messageId", "id", "sid", "externalId"):
        value = body.get(key)
        if isinstance(value, str | int) and str(value):
            return str(value)[:100]
    return ""
