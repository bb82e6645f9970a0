"""One attachment URL → bytes: streamed, capped, time-limited, SSRF-guarded. Worker-side only.

- Every hop (the URL itself and each redirect, at most `MAX_REDIRECTS`) is checked with
  `tuco.urlsafety.check_url` and fetched through `guarded_session()`, which re-checks the
  socket's real peer address after connecting (DNS rebinding). With
  `TUCO_ALLOW_PRIVATE_URLS=false`, loopback/private/link-local/metadata addresses are refused.
  Plain `http` is allowed for attachments (public media hosts still serve it; the bytes are
  type-checked) — the host rules are the same as for https.
- Content-Length above the cap fails before reading; the body is read with `read1` so no
  call blocks longer than the read timeout, and reading stops as soon as the (decoded) size
  passes `MAX_BYTES` — a lying Content-Length or a compression bomb cannot exceed it.
- Timeouts: connect, read (per socket read) and a total wall-clock limit for the whole chain.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
from django.conf import settings
from urllib3.exceptions import (
    ConnectTimeoutError,
    DecodeError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from messaging.attachments import errors as e
from messaging.attachments.errors import AttachmentError
from messaging.attachments.types import MAX_BYTES
from tuco.http import call_deadline
from tuco.urlsafety import UnsafeUrl, blocked_reason, check_url, exception_chain, guarded_session

MAX_REDIRECTS = 3
READ_CHUNK = 64 * 1024
USER_AGENT = "Tuco/1.0 (+attachment fetch)"
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 20.0
DEFAULT_TOTAL_TIMEOUT = 60.0
_TRANSIENT_4XX = {408, 425, 429}


@dataclass
class Download:
    content: bytes
    final_url: str
    redirects: int


def _timeouts() -> tuple[float, float, float]:
    return (float(getattr(settings, "TUCO_ATTACHMENT_CONNECT_TIMEOUT_SECONDS", DEFAULT_CONNECT_TIMEOUT)),
            float(getattr(settings, "TUCO_ATTACHMENT_READ_TIMEOUT_SECONDS", DEFAULT_READ_TIMEOUT)),
            float(getattr(settings, "TUCO_ATTACHMENT_TOTAL_TIMEOUT_SECONDS", DEFAULT_TOTAL_TIMEOUT)))


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB"


def too_large() -> AttachmentError:
    return AttachmentError(e.ATTACHMENT_TOO_LARGE, f"Attachment is larger than {_mb(MAX_BYTES)}", permanent=True)


def check_hop(url: str) -> str:
    """`check_url` with one difference: plain http is judged like https (same host rules)."""
    try:
        parts = urlsplit(url)
        probe = urlunsplit(("https", parts.netloc, parts.path, parts.query, "")) if parts.scheme == "http" else url
        check_url(probe)
    except (UnsafeUrl, ValueError) as exc:
        raise AttachmentError(e.ATTACHMENT_BLOCKED_URL, f"Attachment URL refused: {exc}", permanent=True) from exc
    return url


def _timed_out(exc: BaseException) -> bool:
    for current in exception_chain(exc):
        if isinstance(current, NewConnectionError):  # a ConnectTimeoutError subclass, but "refused"/DNS
            continue
        if isinstance(current, requests.exceptions.Timeout | ReadTimeoutError | ConnectTimeoutError | socket.timeout):
            return True
    return False


def classify(exc: BaseException) -> AttachmentError:
    """A requests/urllib3 failure as an AttachmentError (blocked and TLS: permanent; the rest: transient)."""
    reason = blocked_reason(exc)
    if reason:
        return AttachmentError(e.ATTACHMENT_BLOCKED_URL, f"Attachment URL refused: {reason}", permanent=True)
    if _timed_out(exc):
        return AttachmentError(e.ATTACHMENT_TIMEOUT, "Attachment download timed out", permanent=False)
    if isinstance(exc, requests.exceptions.SSLError):
        return AttachmentError(e.ATTACHMENT_DOWNLOAD_FAILED, "Attachment download failed: TLS error", permanent=True)
    if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.InvalidSchema
                  | requests.exceptions.MissingSchema):
        return AttachmentError(e.ATTACHMENT_BLOCKED_URL, f"Attachment URL refused: {exc}", permanent=True)
    return AttachmentError(e.ATTACHMENT_DOWNLOAD_FAILED,
                           f"Attachment download failed: {exc.__class__.__name__}", permanent=False)


def _check_status(status: int) -> None:
    if 200 <= status < 300:
        return
    if status in (404, 410):
        raise AttachmentError(e.ATTACHMENT_NOT_FOUND, f"Attachment URL answered {status} (not found)", permanent=True)
    permanent = 300 <= status < 500 and status not in _TRANSIENT_4XX
    raise AttachmentError(e.ATTACHMENT_DOWNLOAD_FAILED, f"Attachment URL answered HTTP {status}", permanent=permanent)


def _read_body(response: requests.Response, deadline: float) -> bytes:
    declared = (response.headers.get("Content-Length") or "").strip()
    if declared.isdigit() and int(declared) > MAX_BYTES:
        raise too_large()
    body = bytearray()
    raw = response.raw
    try:
        while True:
            # read1: at most one socket read per call, so the deadline below is checked often.
            chunk = raw.read1(READ_CHUNK, decode_content=True)
            if not chunk:
                break
            body += chunk
            if len(body) > MAX_BYTES:
                raise too_large()
            if time.monotonic() > deadline:
                raise AttachmentError(e.ATTACHMENT_TIMEOUT, "Attachment download took too long", permanent=False)
    except (HTTPError, ProtocolError, DecodeError, OSError, requests.exceptions.RequestException) as exc:
        raise classify(exc) from exc
    return bytes(body)


def download(url: str) -> Download:
    connect_timeout, read_timeout, total_timeout = _timeouts()
    # The total limit is enforced by tuco.http's watchdog too: the per-read timeouts alone let a host that
    # dribbles its status line and headers (a byte per read timeout) hold the send worker for ever.
    with guarded_session() as session, call_deadline(session, total_timeout) as expired:
        session.headers.update({"User-Agent": USER_AGENT, "Accept": "*/*", "Accept-Encoding": "identity"})
        try:
            fetched = _follow(session, url, time.monotonic() + total_timeout, connect_timeout, read_timeout)
        except AttachmentError as exc:
            if expired.is_set() and not exc.permanent:  # the watchdog shut the socket, whatever it was doing
                raise _took_too_long() from exc
            raise
    if expired.is_set():  # cut off mid-headers, http.client reads "no more headers, no body": not the file
        raise _took_too_long()
    return fetched


def _took_too_long() -> AttachmentError:
    return AttachmentError(e.ATTACHMENT_TIMEOUT, "Attachment download took too long", permanent=False)


def _follow(session: requests.Session, url: str, deadline: float, connect_timeout: float,
            read_timeout: float) -> Download:
    """The URL and its redirects (each hop checked), then the body, within `deadline` (monotonic)."""
    current = url
    for hop in range(MAX_REDIRECTS + 1):
        check_hop(current)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AttachmentError(e.ATTACHMENT_TIMEOUT, "Attachment download took too long", permanent=False)
        try:
            response = session.get(current, stream=True, allow_redirects=False,
                                   timeout=(min(connect_timeout, remaining), min(read_timeout, remaining)))
        except requests.exceptions.RequestException as exc:
            raise classify(exc) from exc
        with response:
            location = session.get_redirect_target(response)
            if location:
                if hop == MAX_REDIRECTS:
                    raise AttachmentError(e.ATTACHMENT_TOO_MANY_REDIRECTS,
                                          f"Attachment URL redirected more than {MAX_REDIRECTS} times",
                                          permanent=True)
                current = urljoin(current, location).split("#", 1)[0]
                continue
            _check_status(response.status_code)
            return Download(content=_read_body(response, deadline), final_url=current, redirects=hop)
    raise AssertionError("unreachable")  # the loop returns or raises
