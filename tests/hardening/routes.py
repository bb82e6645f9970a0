"""The URL conf, walked: every route under /api/ and /hooks/ with its path parameters and HTTP methods.

Tests iterate over this instead of a hand-written list, so an endpoint added later is
checked (auth, read-only workspaces, isolation) without anyone remembering to add it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

PREFIXES = ("api/", "hooks/")
# Every route a caller can put a parameter in: the API, the provider callbacks and the upload links.
ALL_PREFIXES = (*PREFIXES, "uploads/")
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
_PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>\w+)>")
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# Plain Django function views cannot be introspected for their methods (require_POST hides them): list them here.
FUNCTION_VIEW_METHODS: dict[str, tuple[str, ...]] = {
    "messaging.inbound.views.bluebubbles_webhook": ("POST",),
    "messaging.inbound.views.email_inbound_webhook": ("POST",),
    "messaging.inbound.views.twilio_status": ("POST",),
    "messaging.inbound.views.twilio_inbound": ("POST",),
    "messaging.attachments.api.upload_file_view": ("GET",),
}
# Public by design: the OpenAPI document and its viewer.
PUBLIC = {"api/schema", "api/docs"}


@dataclass(frozen=True)
class Route:
    pattern: str  # "api/messages/<str:message_id>/cancel"
    params: tuple[str, ...]
    methods: tuple[str, ...]
    view: str  # dotted name, for messages

    @property
    def is_api(self) -> bool:
        return self.pattern.startswith("api/")

    @property
    def is_public(self) -> bool:
        return self.pattern in PUBLIC

    def path(self, **values: str) -> str:
        missing = set(self.params) - set(values)
        assert not missing, f"{self.pattern}: no value for {sorted(missing)}"
        return "/" + _PARAM.sub(lambda m: values[m.group("name")], self.pattern)

    def __str__(self) -> str:
        return f"/{self.pattern}"


def _view_name(callback: Any) -> str:
    cls = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    target = cls or callback
    return f"{target.__module__}.{target.__qualname__}"


def _methods(callback: Any) -> tuple[str, ...]:
    cls = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if cls is not None:
        return tuple(m for m in _METHODS if hasattr(cls, m.lower()))
    name = _view_name(callback)
    assert name in FUNCTION_VIEW_METHODS, (
        f"{name} is a function view: add its HTTP methods to FUNCTION_VIEW_METHODS in tests/hardening/routes.py")
    return FUNCTION_VIEW_METHODS[name]


def _walk(patterns: list[Any], prefix: str) -> Iterator[tuple[str, Any]]:
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield route, entry.callback


def routes(prefixes: tuple[str, ...] = PREFIXES) -> list[Route]:
    """Every route under /api/ and /hooks/ (or `prefixes`), in URL-conf order."""
    found = []
    for pattern, callback in _walk(get_resolver().url_patterns, ""):
        if not pattern.startswith(prefixes):
            continue
        params = tuple(m.group("name") for m in _PARAM.finditer(pattern))
        found.append(Route(pattern=pattern, params=params, methods=_methods(callback), view=_view_name(callback)))
    assert found, "the URL conf has no /api/ routes?"
    return found
