"""What the send path tells the layers above it, without knowing them (campaigns listen).

Both are sent inside the transaction that records the fact, so a receiver's writes commit with it or
not at all. Receivers must be quick and do no network I/O.

- `message_left_queue(message, previous)`: an outbound message reached `sent`, `delivered`, `failed`,
  `fallback` or `cancelled` for the first time (`message.status` says which).
- `reply_stored(message, opted_out)`: an inbound reply was stored (`opted_out`: it was a STOP).
"""

from __future__ import annotations

from django.dispatch import Signal

message_left_queue = Signal()
reply_stored = Signal()
