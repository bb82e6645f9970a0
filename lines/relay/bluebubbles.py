"""BlueBubbles server client (reference: shared/reference/bluebubbles-api.md).

Auth is the `password` query parameter (the server reads no headers). Every
call has explicit timeouts; a send blocks until the device wrote the row to
chat.db, so its read timeout is TUCO_RELAY_TIMEOUT_SECONDS (~130 s). Errors are
classified into RelayErrorKind so the send path knows whether the message may
have gone out (verify first) or certainly did not (retry).
"""

from __future__ import annotations

import re
import time
from typing import Any

import requests
from django.conf import settings
from urllib3.exceptions import NewConnectionError

from lines.relay.base import RelayAttachment, SentMessage
from lines.relay.errors import RelayErrorKind, relay_error
from lines.relay.http import relay_request
from tuco.http import ResponseTooLarge
from tuco.metrics import relay_call_observe
from tuco.send_errors import SendError

CONNECT_TIMEOUT = 5.0
CONTROL_READ_TIMEOUT = 15.0
ALREADY_QUEUED = "already queued"
PRIVATE_API_DOWN = ("Private API is not enabled", "Private API Helper is not connected")
_NON_ALNUM = re.compile(r"[^0-9A-Za-z]")


def chat_guid(address: str, *, prefix: str = "iMessage") -> str:
    """A DM chat GUID: `iMessage;-;+15551234567`, or `any;-;…` as macOS 26 (Tahoe) writes it."""
    return f"{prefix};-;{address}"


def comparable_text(text: str) -> str:
    """BlueBubbles matches sent rows on alphanumerics only; emoji-only texts compare whole."""
    reduced = _NON_ALNUM.sub("", text or "")
    return reduced or (text or "").strip()


def _parse_message(data: dict[str, Any]) -> SentMessage:
    handle = data.get("handle") or {}
    return SentMessage(
        guid=str(data.get("guid") or ""),
        text=data.get("text") or "",
        address=str(handle.get("address") or ""),
        error=int(data.get("error") or 0),
        date_created_ms=int(data.get("dateCreated") or 0),
        is_delivered=bool(data.get("isDelivered")),
        date_delivered_ms=data.get("dateDelivered"),
        date_read_ms=data.get("dateRead"),
        raw=data,
    )


def _error_text(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or f"HTTP {response.status_code}"
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or body.get("message") or "")
    if isinstance(body, dict):
        return str(body.get("message") or "")
    return str(body)[:300]


def _transport_reason(exc: Exception) -> str:
    """The `reason` label of a relay call that got no HTTP answer."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "connect_timeout"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return "timeout"
    if isinstance(exc, ResponseTooLarge):
        return "too_large"
    return "connection"


def _transport_error(exc: Exception, read_timeout: float) -> SendError:
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return relay_error(RelayErrorKind.NOT_SENT, f"relay connect timeout: {exc.__class__.__name__}")
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return relay_error(RelayErrorKind.UNKNOWN, f"relay did not answer within {read_timeout:.0f}s")
    if isinstance(exc, ResponseTooLarge):  # the request went out: what it did is unknown
        return relay_error(RelayErrorKind.UNKNOWN, f"relay answer refused: {exc}")
    if isinstance(exc, requests.exceptions.ConnectionError):
        # Refused / unresolvable: nothing reached the device. Anything else (reset mid-answer) is unknown.
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        kind = RelayErrorKind.NOT_SENT if isinstance(reason, NewConnectionError) else RelayErrorKind.UNKNOWN
        return relay_error(kind, f"relay connection failed: {reason or exc}")
    raise exc  # any other requests error: as before, not classified here


class BlueBubblesClient:
    def __init__(self, *, base_url: str, password: str, private_api: bool = False,
                 chat_prefix: str = "iMessage", metrics_label: str = "") -> None:
        self.base_url = base_url.rstrip("/")
        self.password = password
        self.private_api = private_api
        self.chat_prefix = chat_prefix
        self.metrics_label = metrics_label  # the line (tuco_relay_call_seconds{line=…})

    # --- transport ------------------------------------------------------------------
    def _call(self, method: str, path: str, *, read_timeout: float = CONTROL_READ_TIMEOUT,
              params: dict[str, Any] | None = None, **kwargs: Any) -> requests.Response:
        url = f"{self.base_url}/api/v1/{path.lstrip('/')}"
        query = {"password": self.password, **(params or {})}
        started = time.perf_counter()
        try:
            response = relay_request(method, url, params=query, connect_timeout=CONNECT_TIMEOUT, deadline=read_timeout,
                                     **kwargs)
        except (requests.exceptions.RequestException, ResponseTooLarge) as exc:
            relay_call_observe(line=self.metrics_label, seconds=time.perf_counter() - started,
                               reason=_transport_reason(exc))
            raise _transport_error(exc, read_timeout) from exc
        relay_call_observe(line=self.metrics_label, seconds=time.perf_counter() - started,
                           reason=None if response.status_code < 400 else f"http_{response.status_code // 100}xx")
        if response.status_code == 401:
            raise relay_error(RelayErrorKind.PERMANENT, f"relay refused the password: {_error_text(response)}",
                             status=401, body=response.text)
        return response

    @staticmethod
    def _data(response: requests.Response) -> Any:
        try:
            return response.json().get("data")
        except (ValueError, AttributeError) as exc:
            raise relay_error(RelayErrorKind.UNKNOWN, "relay answered with a non-JSON body",
                             status=response.status_code, body=response.text) from exc

    def _raise_for_send(self, response: requests.Response) -> None:
        text = _error_text(response)
        if response.status_code == 400:
            kind = RelayErrorKind.IN_FLIGHT if ALREADY_QUEUED in text else RelayErrorKind.REJECTED
            raise relay_error(kind, text, status=400, body=response.text)
        if response.status_code >= 500:
            # BlueBubbles answers 500 for messages it did send (#801): the outcome is unknown.
            raise relay_error(RelayErrorKind.UNKNOWN, text or "relay error", status=response.status_code,
                             body=response.text)
        raise relay_error(RelayErrorKind.REJECTED, text or f"unexpected HTTP {response.status_code}",
                         status=response.status_code, body=response.text)

    # --- the interface ------------------------------------------------------------------
    def ping(self) -> None:
        response = self._call("GET", "ping")
        if response.status_code != 200:
            raise relay_error(RelayErrorKind.UNKNOWN, _error_text(response), status=response.status_code)

    def server_info(self) -> dict[str, Any]:
        response = self._call("GET", "server/info")
        if response.status_code != 200:
            raise relay_error(RelayErrorKind.UNKNOWN, _error_text(response), status=response.status_code)
        return self._data(response) or {}

    def send_text(self, *, address: str, text: str, temp_guid: str) -> SentMessage:
        body = {"chatGuid": chat_guid(address, prefix=self.chat_prefix), "tempGuid": temp_guid, "message": text,
                "method": "private-api" if self.private_api else "apple-script"}
        response = self._call("POST", "message/text", json=body, read_timeout=settings.TUCO_RELAY_TIMEOUT_SECONDS)
        if response.status_code != 200:
            self._raise_for_send(response)
        return _parse_message(self._data(response) or {})

    def send_attachment(self, *, address: str, attachment: RelayAttachment, temp_guid: str) -> SentMessage:
        form = {"chatGuid": chat_guid(address, prefix=self.chat_prefix), "tempGuid": temp_guid,
                "name": attachment.name, "method": "private-api" if self.private_api else "apple-script",
                "isAudioMessage": "true" if attachment.is_audio_message else "false"}
        files = {"attachment": (attachment.name, attachment.content, attachment.mime_type)}
        response = self._call("POST", "message/attachment", data=form, files=files,
                              read_timeout=settings.TUCO_RELAY_TIMEOUT_SECONDS)
        if response.status_code != 200:
            self._raise_for_send(response)
        return _parse_message(self._data(response) or {})

    def check_imessage(self, *, address: str) -> bool:
        response = self._call("GET", "handle/availability/imessage", params={"address": address})
        if response.status_code != 200:
            text = _error_text(response)
            kind = RelayErrorKind.PRIVATE_API if any(p in text for p in PRIVATE_API_DOWN) else RelayErrorKind.UNKNOWN
            raise relay_error(kind, text or "availability check failed", status=response.status_code)
        return bool((self._data(response) or {}).get("available"))

    def get_message(self, *, guid: str) -> SentMessage | None:
        response = self._call("GET", f"message/{guid}", params={"with": "chats,attachments"})
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise relay_error(RelayErrorKind.UNKNOWN, _error_text(response), status=response.status_code)
        return _parse_message(self._data(response) or {})

    def find_sent(self, *, address: str, text: str, since_ms: int, attachment_name: str = "") -> list[SentMessage]:
        """Outgoing rows to `address` since `since_ms` whose text matches (how BlueBubbles matches, too),
        or, for an attachment, that carry a file of that name."""
        body = {
            "where": [
                {"statement": "handle.id = :address", "args": {"address": address}},
                {"statement": "message.is_from_me = :fromMe", "args": {"fromMe": 1}},
            ],
            "after": since_ms, "sort": "DESC", "limit": 100, "with": ["chats", "attachments"],
        }
        response = self._call("POST", "message/query", json=body)
        if response.status_code == 404:  # quirk: an unknown chat answers a bare 404
            return []
        if response.status_code != 200:
            raise relay_error(RelayErrorKind.UNKNOWN, _error_text(response), status=response.status_code)
        rows = [_parse_message(row) for row in (self._data(response) or [])]
        if attachment_name:
            wanted_name = attachment_name.lower()
            return [row for row in rows if any(str(a.get("transferName") or "").lower() == wanted_name
                                               for a in row.raw.get("attachments") or [])]
        wanted = comparable_text(text)
        return [row for row in rows if not wanted or comparable_text(row.text) == wanted]

    def register_webhook(self, *, url: str, events: list[str]) -> dict[str, Any]:
        response = self._call("POST", "webhook", json={"url": url, "events": events})
        if response.status_code != 200:
            raise relay_error(RelayErrorKind.REJECTED, _error_text(response), status=response.status_code)
        return self._data(response) or {}
