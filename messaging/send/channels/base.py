"""The one interface every channel implements.

A channel sends a message this worker has claimed and says what happened as an `Outcome`; it never
decides what follows (retry, fail, fallback, verify: messaging.send.outcomes does) and never calls
another channel or the task layer. It may record what it learned on the way (an attempt's details,
the address it used, a part that left the device) through messaging.send.attempts and
messaging.send.state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Protocol

if TYPE_CHECKING:
    from messaging.models import Message, SendAttempt
    from messaging.send.claim import Claimed
    from messaging.send.outcome import Outcome


class Channel(Protocol):
    # The SendAttempt.channel the claim records in its transaction ("relay", "smtp"); "" when the
    # channel records one attempt per provider call itself.
    attempt_channel: ClassVar[str]
    # The send spends the line's capacity (and needs a line).
    uses_line: ClassVar[bool]
    # An unknown outcome can be looked up afterwards (the relay keeps the device's rows); providers
    # that cannot be asked are never retried blindly: the message fails as "outcome unknown" instead.
    can_verify: ClassVar[bool]

    def send(self, claimed: Claimed, *, resume: bool = False) -> Outcome:
        """Send (or, with `resume`, finish sending) the claimed message."""
        ...

    def verify(self, message: Message, attempt: SendAttempt, *, final: bool) -> Outcome:
        """Did an attempt whose outcome is unknown go out? Only called when `can_verify`."""
        ...
