"""Reading one field of a JSON request body: a wrong type is a 400 in the spec's shape, never ignored."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tuco.errors import BadRequest


def optional_string(data: Mapping[str, Any], key: str, *, max_length: int | None = None) -> str:
    """The stripped string at `key`; "" when absent or null."""
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRequest(f"{key} must be a string", code="VALIDATION_ERROR")
    value = value.strip()
    if max_length is not None and len(value) > max_length:
        raise BadRequest(f"{key} must be at most {max_length} characters", code="VALIDATION_ERROR")
    return value


def require_json_object(data: Any, *, code: str = "INVALID_BODY") -> dict[str, Any]:
    """The request body as an object; a list, a string or null is a 400 before any field is read."""
    if not isinstance(data, dict):
        raise BadRequest("Request body must be a JSON object", code=code)
    return data
