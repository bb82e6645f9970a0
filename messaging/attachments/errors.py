"""Why an attachment could not be fetched, and whether trying again can help."""

from __future__ import annotations

# Permanent: the same URL will fail the same way; the send fails now.
ATTACHMENT_BLOCKED_URL = "ATTACHMENT_BLOCKED_URL"
ATTACHMENT_NOT_FOUND = "ATTACHMENT_NOT_FOUND"
ATTACHMENT_TOO_LARGE = "ATTACHMENT_TOO_LARGE"
ATTACHMENT_UNSUPPORTED_TYPE = "ATTACHMENT_UNSUPPORTED_TYPE"
ATTACHMENT_EMPTY = "ATTACHMENT_EMPTY"
ATTACHMENT_TOO_MANY_REDIRECTS = "ATTACHMENT_TOO_MANY_REDIRECTS"
# Permanent for 4xx answers, transient for 5xx/429/408 and broken connections (see `permanent`).
ATTACHMENT_DOWNLOAD_FAILED = "ATTACHMENT_DOWNLOAD_FAILED"
# Transient: connect/read timeout or the total wall-clock limit.
ATTACHMENT_TIMEOUT = "ATTACHMENT_TIMEOUT"


class AttachmentError(Exception):
    """`code` is machine-readable; `message` is a sentence for the message's failure reason.

    `permanent=True` means retrying cannot help (4xx, blocked, too large, wrong type); transient
    failures (5xx, timeouts) may be retried by the caller, a bounded number of times.
    """

    def __init__(self, code: str, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.permanent = permanent

    def __repr__(self) -> str:
        return f"AttachmentError({self.code!r}, {self.message!r}, permanent={self.permanent})"
