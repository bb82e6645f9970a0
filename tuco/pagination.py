"""`?limit=` of the list endpoints: one rule and one error text for all of them."""

from __future__ import annotations

from tuco.errors import BadRequest

DEFAULT_LIMIT = 50
MAX_LIMIT = 100


def parse_limit(raw: str | None, *, default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT) -> int:
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"limit must be an integer between 1 and {maximum}", code="INVALID_LIMIT")
    if not 1 <= value <= maximum:
        raise BadRequest(f"limit must be an integer between 1 and {maximum}", code="INVALID_LIMIT")
    return value
