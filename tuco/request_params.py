"""Query and path parameters the app can never use are a JSON 400 before any view sees them.

PostgreSQL text cannot hold a NUL character, so a `?recipient=%00` that reaches a filter
is a database error (a 500). Django decodes percent-escapes that are not UTF-8 (a lone
surrogate `%ED%A0%80`, a stray `%FF`) into U+FFFD without a word, so a filter would
silently search for something the caller never sent. And a value of megabytes is never
an id, a date or a search. This middleware refuses all three, once for every route,
instead of each filter guarding itself:

    400 {"error": "Query parameter 'recipient' contains a NUL character", "code": "INVALID_PARAMETER"}

It reads the raw query string (not request.GET, which has already replaced the bad
bytes) and the path parameters the URL conf resolved (so the error can name them).
Only parameter *names* appear in the error and the log line, never a value: provider
callbacks carry their secret in the query string (/hooks/...?secret=…).

The check covers every resolved route: the API, the provider callbacks (a NUL or a
broken escape is never part of a valid callback, and their valid inputs are
untouched), the upload links, the Unibox and the admin.

Install after BodyLimitMiddleware:
    "tuco.request_params.ParameterGuardMiddleware",
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

from django.http import HttpRequest, HttpResponse, JsonResponse

from tuco.errors import BadRequest
from tuco.logging import get_logger
from tuco.schema_fields import document_error_response

log = get_logger(__name__)

# Longer than any id, date, cursor or search the API takes; a `?ids=` list of ~150 lead ids still fits. gunicorn
# refuses a request line over 4094 bytes before Django anyway; this cap holds behind any other server.
MAX_PARAMETER_LENGTH = 4096
CODE = "INVALID_PARAMETER"
_SHOWN_NAME = 60  # a longer (unknown, ignored) parameter name is cut in the error text


def _problem(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character"
    if len(text) > MAX_PARAMETER_LENGTH:
        return f"is longer than {MAX_PARAMETER_LENGTH} characters"
    return None


def _shown(name: str) -> str:
    return repr(name if len(name) <= _SHOWN_NAME else name[:_SHOWN_NAME] + "…")


def _decoded(raw: bytes) -> str | None:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _query_pairs(query_string: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(name, value) bytes of each `&`-separated field, percent-escapes and `+` decoded (as Django's QueryDict)."""
    for field in query_string.split(b"&"):
        if not field:
            continue
        name, _, value = field.partition(b"=")
        yield unquote_to_bytes(name.replace(b"+", b" ")), unquote_to_bytes(value.replace(b"+", b" "))


def _raw_environ_bytes(request: HttpRequest, key: str) -> bytes:
    # WSGI servers pass the raw bytes as latin-1 text (PEP 3333).
    value = request.META.get(key, "") or ""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogateescape")


def query_parameter_error(query_string: bytes) -> BadRequest | None:
    """The refusal of the first unusable query parameter, or None when they are all usable."""
    for raw_name, raw_value in _query_pairs(query_string):
        name = _decoded(raw_name)
        if name is None or _problem(name):
            return BadRequest("A query parameter name is not usable (a NUL, bad UTF-8 or overlong)", code=CODE)
        value = _decoded(raw_value)
        problem = "is not valid UTF-8" if value is None else _problem(value)
        if problem:
            return BadRequest(f"Query parameter {_shown(name)} {problem}", code=CODE)
    return None


def _raw_request_path(request: HttpRequest) -> bytes | None:
    """The path as the client sent it, when the server passes the request target along (gunicorn: RAW_URI)."""
    target = request.META.get("RAW_URI") or request.META.get("REQUEST_URI")
    if not target:
        return None
    return unquote_to_bytes(urlsplit(target).path)


def path_parameter_error(kwargs: dict[str, Any], *, raw_path: bytes | None = None) -> BadRequest | None:
    """The refusal of the first unusable path parameter the URL conf resolved, or None.

    Django hands a view the bytes of a path that are not UTF-8 re-escaped: `/api/messages/%ED%A0%80`
    arrives as the nine characters `%ED%A0%80`, as does `/api/messages/%25ED%25A0%2580`. With the raw
    path (gunicorn), only a path that really is not UTF-8 is refused; without it (runserver, the test
    client), a parameter holding such an escape is refused either way.
    """
    may_be_broken = raw_path is None or _decoded(raw_path) is None
    for name, value in kwargs.items():
        if not isinstance(value, str):
            continue  # an int or uuid converter already parsed it
        if may_be_broken and "%" in value and _decoded(unquote_to_bytes(value)) is None:
            return BadRequest(f"Path parameter {_shown(name)} is not valid UTF-8", code=CODE)
        problem = _problem(value)
        if problem:
            return BadRequest(f"Path parameter {_shown(name)} {problem}", code=CODE)
    return None


class ParameterGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func: Callable[..., Any], view_args: tuple[Any, ...],
                     view_kwargs: dict[str, Any]) -> HttpResponse | None:
        error = (query_parameter_error(_raw_environ_bytes(request, "QUERY_STRING"))
                 or path_parameter_error(view_kwargs, raw_path=_raw_request_path(request)))
        if error is None:
            return None
        # The error names the parameter, never its value (which may be a callback's secret).
        # The route pattern, not the path: a path may hold a capability (an upload link's token) or the bad value.
        route = request.resolver_match.route if request.resolver_match else None
        log.info("request.invalid_parameter", route=route, method=request.method, error=error.error)
        return JsonResponse(error.body(), status=error.status)


def document_parameter_refusals(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: every operation that takes query or path parameters can answer this
    guard's 400, so /api/schema says so (operations documenting a 400 already keep theirs)."""
    document_error_response(result, "400", lambda operation: any(
        p.get("in") in ("query", "path") for p in operation.get("parameters", [])))
    return result
