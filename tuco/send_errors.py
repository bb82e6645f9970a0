"""One error for every provider a message goes through: the relay (BlueBubbles), an SMTP server, an SMS
provider (Twilio, GHL, a custom webhook).

The provider module that reads the answer decides three facts, once; the send path acts on them
(docs/architecture.md, "Outcomes"):

- `permanent`: the same request will fail again (rejected, bad number, opted out, bad credentials):
  the message fails instead of retrying.
- `maybe_sent`: the request may have reached the provider (a timeout after the body went out, a 5xx,
  a dropped connection): a blind retry could send twice. Verified on the device where the channel
  can ask (iMessage), otherwise the message fails as "outcome unknown".
- `line_fault`: the sending line is at fault, not the message (relay unreachable, password refused,
  Private API helper gone): the line goes unhealthy and the message waits for a line without
  spending one of its attempts.
"""

from __future__ import annotations


class SendError(Exception):
    def __init__(self, message: str, code: str, permanent: bool = False, *, maybe_sent: bool = False,
                 line_fault: bool = False, response_code: int | None = None, recipient_opted_out: bool = False,
                 kind: str = "", body: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.permanent = permanent
        self.maybe_sent = maybe_sent
        self.line_fault = line_fault
        self.response_code = response_code
        self.recipient_opted_out = recipient_opted_out
        self.kind = kind  # the provider's own finer classification (the relay's RelayErrorKind)
        self.body = body

    @property
    def status(self) -> int | None:
        """The provider's HTTP status (the relay client's word for response_code)."""
        return self.response_code

    @property
    def error_class(self) -> str:
        """What a SendAttempt row records: the provider's kind, else permanent / unknown / transient."""
        if self.kind:
            return self.kind
        if self.permanent:
            return "permanent"
        return "unknown" if self.maybe_sent else "transient"

    def __str__(self) -> str:
        if not self.kind:
            return self.message
        return f"{self.kind}: {self.message}" + (f" (HTTP {self.response_code})" if self.response_code else "")

    def __repr__(self) -> str:
        return (f"SendError({self.message!r}, code={self.code!r}, permanent={self.permanent}, "
                f"maybe_sent={self.maybe_sent}, line_fault={self.line_fault})")
