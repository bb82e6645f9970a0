"""GoHighLevel (LeadConnector) SMS through the Conversations API with a location's private-integration token.

Two calls: `POST /contacts/upsert` finds or creates the contact for the phone
(safe to repeat), then `POST /conversations/messages` with type SMS (not safe
to repeat: GHL has no idempotency key, so an ambiguous failure there is not
retried). `_request()` is the one HTTP seam.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import requests

from fallback.providers.base import ProviderResult, SendContext, error_from_requests
from tuco.http import bounded_request
from tuco.send_errors import SendError

if TYPE_CHECKING:
    from fallback.models import FallbackConfig

BASE_URL = "https://services.leadconnectorhq.com"
API_VERSION = "2021-07-28"
TIMEOUT_SECONDS = 15.0  # the whole call: connect, headers and body (tuco.http)
MAX_RESPONSE_BYTES = 1024 * 1024


def _request(method: str, path: str, *, token: str, payload: dict[str, Any]) -> requests.Response:
    """The HTTP seam: one LeadConnector API call."""
    headers = {
        "Authorization": f"Bearer {token}",
        "Version": API_VERSION,
        "Accept": "application/json",
        "Content-Type": "application/json",
        "User-Agent": "Tuco/1.0",
    }
    with requests.Session() as session:
        session.trust_env = False
        return bounded_request(session, method, f"{BASE_URL}{path}", json=payload, headers=headers,
                               deadline=TIMEOUT_SECONDS, max_bytes=MAX_RESPONSE_BYTES)


def _error_text(response: requests.Response) -> str:
    """LeadConnector errors are `{"statusCode", "message": str | [str], "error"?}`."""
    try:
        body = response.json()
    except ValueError:
        return (response.text or "").strip()[:200] or response.reason or "error"
    if not isinstance(body, dict):
        return str(body)[:200]
    message = body.get("message") or body.get("msg") or body.get("error") or response.reason
    if isinstance(message, list):
        message = "; ".join(str(m) for m in message)
    return str(message)[:300]


def _error_from_response(step: str, response: requests.Response, *, repeatable: bool) -> SendError:
    status = response.status_code
    message = f"GHL {step} failed ({status}): {_error_text(response)}"
    code = f"GHL_HTTP_{status}"
    if status == 429:
        return SendError(message, code, False, response_code=status)
    if status >= 500:
        return SendError(message, code, False, response_code=status, maybe_sent=not repeatable and status != 503)
    return SendError(message, code, True, response_code=status)


class GhlProvider:
    name: ClassVar[str] = "ghl"
    supports_idempotency: ClassVar[bool] = False

    def __init__(self, *, location_id: str, api_token: str) -> None:
        self.location_id = location_id
        self._api_token = api_token

    def __repr__(self) -> str:  # never the token
        return f"GhlProvider(location_id={self.location_id!r})"

    @classmethod
    def from_config(cls, config: FallbackConfig) -> GhlProvider:
        return cls(location_id=config.ghl_location_id, api_token=config.ghl_api_token)

    def request_summary(self, *, to: str, body: str) -> dict[str, Any]:
        return {"provider": self.name, "locationId": self.location_id, "to": to, "bodyLength": len(body)}

    def upsert_contact(self, *, phone: str, name: str = "") -> str:
        """The GHL contact id for `phone` in this location (created when missing)."""
        payload: dict[str, Any] = {"locationId": self.location_id, "phone": phone}
        if name:
            payload["name"] = name
        try:
            response = _request("POST", "/contacts/upsert", token=self._api_token, payload=payload)
        except requests.exceptions.RequestException as exc:
            error = error_from_requests(exc, prefix="GHL contact upsert")
            # Upserting twice is harmless, so "maybe sent" does not block a retry here.
            raise SendError(error.message, error.code, False) from None
        if not 200 <= response.status_code < 300:
            raise _error_from_response("contact upsert", response, repeatable=True)
        try:
            contact_id = str(response.json()["contact"]["id"])
        except (ValueError, KeyError, TypeError):
            raise SendError("GHL contact upsert returned no contact id", "GHL_BAD_RESPONSE", False,
                                response_code=response.status_code) from None
        return contact_id

    def send_sms(self, *, to: str, body: str, idempotency_key: str, status_callback_url: str | None,
                 context: SendContext | None = None) -> ProviderResult:
        name = str((context.extra if context else {}).get("recipientName") or "")
        contact_id = self.upsert_contact(phone=to, name=name)
        payload = {"type": "SMS", "contactId": contact_id, "message": body}
        try:
            response = _request("POST", "/conversations/messages", token=self._api_token, payload=payload)
        except requests.exceptions.RequestException as exc:
            raise error_from_requests(exc, prefix="GHL send") from None
        if not 200 <= response.status_code < 300:
            raise _error_from_response("send", response, repeatable=False)
        try:
            data = response.json()
            message_id = str(data.get("messageId") or (data.get("messageIds") or [""])[0])
        except (ValueError, AttributeError, IndexError):
            message_id = ""
        if not message_id:
            # Accepted (2xx) but unreadable: the SMS is on its way, we just cannot track it.
            message_id = f"ghl:{contact_id}"
        return ProviderResult(external_id=message_id, status="sent", response_code=response.status_code)
