"""Twilio: SMS through the official SDK (`Client.messages.create`).

The SDK's HTTP goes through `requests` (TwilioHttpClient), built in
`_client()`, the one seam of this provider. Twilio has no idempotency key on
message creation, so an ambiguous failure (read timeout, 500) is never retried
by us: at most one SMS rather than two.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import requests
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.rest import Client

from fallback.providers.base import ProviderResult, SendContext, error_from_requests
from tuco.http import bounded_request
from tuco.send_errors import SendError

if TYPE_CHECKING:
    from fallback.models import FallbackConfig

TIMEOUT_SECONDS = 15.0  # the whole call: connect, headers and body (tuco.http)
MAX_RESPONSE_BYTES = 1024 * 1024

OPT_OUT_CODE = 21610  # "Attempt to send to unsubscribed recipient" (the recipient texted STOP)
# Twilio REST error codes worth a readable name. Every 4xx except rate limits is permanent
# anyway; this table only decides which ones are about the *recipient* (try another address).
RECIPIENT_ERRORS: dict[int, str] = {
    21211: "invalid 'To' phone number",
    21408: "sending to this region is not enabled on the Twilio account",
    21610: "recipient has opted out (replied STOP)",
    21612: "'To' number is not reachable via SMS",
    21614: "'To' number is not a valid mobile number",
}
CONFIG_ERRORS: dict[int, str] = {
    20003: "Twilio authentication failed (check accountSid and authToken)",
    20404: "Twilio account or resource not found (check accountSid)",
    21212: "invalid 'From' number",
    21606: "'From' number is not a valid SMS-capable Twilio number for this destination",
    21659: "'From' number is not a Twilio number on this account",
}
TRANSIENT_CODES = {20429, 21611}  # too many requests; the From number's queue is full

# Status callback / create response `status` → our fallback/message vocabulary.
STATUS_MAP: dict[str, str] = {
    "accepted": "sending",
    "scheduled": "sending",
    "queued": "sending",
    "sending": "sending",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "failed",
    "failed": "failed",
    "canceled": "failed",
}

# Delivery error codes seen in status callbacks (ErrorCode), for readable errors.
DELIVERY_ERRORS: dict[int, str] = {
    30001: "queue overflow",
    30002: "account suspended",
    30003: "unreachable destination handset",
    30004: "message blocked",
    30005: "unknown destination handset",
    30006: "landline or unreachable carrier",
    30007: "message filtered by the carrier",
    30008: "unknown delivery error",
    30034: "US A2P 10DLC: message from an unregistered number",
    21610: "recipient has opted out (replied STOP)",
}


def describe_error(code: int | str | None) -> str:
    try:
        number = int(code or 0)
    except (TypeError, ValueError):
        return f"Twilio error {code}"
    text = RECIPIENT_ERRORS.get(number) or CONFIG_ERRORS.get(number) or DELIVERY_ERRORS.get(number)
    return f"Twilio error {number}: {text}" if text else f"Twilio error {number}"


def is_recipient_error(code: str) -> bool:
    """A SendError code about the recipient's number (another address may still work)."""
    return code.startswith("TWILIO_") and code[7:].isdigit() and int(code[7:]) in RECIPIENT_ERRORS


class BoundedTwilioHttpClient(TwilioHttpClient):
    """The SDK's requests-based client, each call bounded as a whole and in size (tuco.http)."""

    def request(self, method: str, url: str, params: dict[str, object] | None = None,
                data: dict[str, object] | None = None, headers: dict[str, str] | None = None,
                auth: tuple[str, str] | None = None, timeout: float | None = None,
                allow_redirects: bool = False) -> TwilioResponse:
        session = self.session or requests.Session()
        body: dict[str, Any] = {"json": data} if (headers or {}).get("Content-Type") == "application/json" \
            else {"data": data}
        deadline = timeout or self.timeout or TIMEOUT_SECONDS
        response = bounded_request(session, method.upper(), url, params=params, headers=headers, auth=auth,
                                   allow_redirects=allow_redirects, deadline=deadline, max_bytes=MAX_RESPONSE_BYTES,
                                   **body)
        self.log_response(response.status_code, response)
        return TwilioResponse(int(response.status_code), response.text, response.headers)


def _client(account_sid: str, auth_token: str) -> Client:
    """The HTTP seam: a Twilio client whose calls go through `requests`, bounded in time and size."""
    return Client(account_sid, auth_token, http_client=BoundedTwilioHttpClient(timeout=TIMEOUT_SECONDS))


def _error_from_twilio(exc: TwilioRestException | TwilioServiceException) -> SendError:
    status = int(exc.status or 0)
    code = int(exc.code) if isinstance(exc.code, int) or str(exc.code).isdigit() else status
    raw = exc.msg if isinstance(exc, TwilioRestException) else (exc.detail or exc.title)
    # The SDK prefixes "Unable to create record: "; the body's message is what a human needs.
    text = str(raw or "").split(": ", 1)[-1] if raw else describe_error(code)
    message = f"Twilio error {code}: {text}"
    if code in TRANSIENT_CODES or status == 429:
        return SendError(message, f"TWILIO_{code}", False, response_code=status)
    if status >= 500:
        # 503 means Twilio refused before doing anything; other 5xx leave the outcome unknown.
        return SendError(message, f"TWILIO_{code}", False, response_code=status, maybe_sent=status != 503)
    return SendError(message, f"TWILIO_{code}", True, response_code=status,
                         recipient_opted_out=code == OPT_OUT_CODE)


class TwilioProvider:
    name: ClassVar[str] = "twilio"
    supports_idempotency: ClassVar[bool] = False

    def __init__(self, *, account_sid: str, auth_token: str, from_number: str) -> None:
        self.account_sid = account_sid
        self._auth_token = auth_token
        self.from_number = from_number

    def __repr__(self) -> str:  # never the token
        return f"TwilioProvider(account_sid={self.account_sid!r}, from_number={self.from_number!r})"

    @classmethod
    def from_config(cls, config: FallbackConfig) -> TwilioProvider:
        return cls(account_sid=config.twilio_account_sid, auth_token=config.twilio_auth_token,
                   from_number=config.twilio_from_number)

    @property
    def auth_token(self) -> str:
        return self._auth_token

    def request_summary(self, *, to: str, body: str) -> dict[str, Any]:
        return {"provider": self.name, "accountSid": self.account_sid, "from": self.from_number, "to": to,
                "bodyLength": len(body)}

    def send_sms(self, *, to: str, body: str, idempotency_key: str, status_callback_url: str | None,
                 context: SendContext | None = None) -> ProviderResult:
        kwargs: dict[str, Any] = {"to": to, "from_": self.from_number, "body": body}
        if status_callback_url:
            kwargs["status_callback"] = status_callback_url
        try:
            created = _client(self.account_sid, self._auth_token).messages.create(**kwargs)
        except (TwilioRestException, TwilioServiceException) as exc:
            raise _error_from_twilio(exc) from None
        except requests.exceptions.RequestException as exc:
            raise error_from_requests(exc, prefix="Twilio") from None
        status = STATUS_MAP.get(str(created.status or "").lower(), "sent")
        if status == "failed":
            code = created.error_code or 0
            raise SendError(created.error_message or describe_error(code), f"TWILIO_{code}", True,
                                response_code=201)
        # Accepted by Twilio is "sent" in Tuco's vocabulary; delivery comes by status callback.
        return ProviderResult(external_id=str(created.sid), status="sent", response_code=201)
