"""JSON parsing for every API view: a body we cannot or will not take is a 400, never a 500.

- Malformed JSON, bytes that are not UTF-8 → 400 INVALID_JSON.
- Nesting deeper than MAX_JSON_DEPTH → 400 INVALID_JSON. No endpoint needs more than a
  dozen levels, and Python's decoder (and every recursive walk after it) would otherwise
  die with a RecursionError around 1,000 levels.
- NUL characters in any string or key → 400: PostgreSQL text columns cannot hold U+0000,
  so such a string is refused at the door instead of failing deep inside a write.

A body over DATA_UPLOAD_MAX_MEMORY_SIZE never reaches the parser: Django raises
RequestDataTooBig when the body is read, and tuco.errors answers 413.
"""

from __future__ import annotations

import codecs
import json
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_JSON_DEPTH = 64


def _check_structure(value: Any) -> None:
    """One iterative walk: depth limit and NUL characters (recursion here would fail like the decoder)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise ParseError("strings must not contain NUL (\\u0000) characters")
        elif isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise ParseError(f"JSON is nested too deeply (at most {MAX_JSON_DEPTH} levels)")
            if isinstance(item, dict):
                stack.extend((key, depth) for key in item)
                stack.extend((child, depth + 1) for child in item.values())
            else:
                stack.extend((child, depth + 1) for child in item)


def _strict_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def loads_strict(text: str) -> Any:
    """JSON text → value, under the rules above; anything refused raises ParseError.

    The API's parser below and the relay webhook (lines.hooks, a plain Django view) share it.
    """
    try:
        data = json.loads(text, parse_constant=_strict_constant)
    except RecursionError:
        raise ParseError(f"JSON is nested too deeply (at most {MAX_JSON_DEPTH} levels)")
    except ValueError as exc:
        raise ParseError(f"JSON parse error - {exc}")
    _check_structure(data)
    return data


class StrictJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict[str, Any] | None = None) -> Any:
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.getreader(encoding)(stream).read()
        except (UnicodeDecodeError, LookupError) as exc:
            raise ParseError(f"JSON parse error - the body is not valid {encoding} text ({exc.reason})"
                             if isinstance(exc, UnicodeDecodeError) else f"JSON parse error - {exc}")
        return loads_strict(text)
