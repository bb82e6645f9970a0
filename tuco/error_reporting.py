"""Optional error reporting to Sentry (sentry-sdk): on only when SENTRY_DSN is set, nothing is sent otherwise.

Called once from the settings, so web, workers and beat all report (Django, Celery and logging at ERROR).
Secrets never leave: no default PII (no cookies, user or IP), sentry's own scrubber with our key names
added, and `scrub_event` over the whole event (exception messages, frame variables, request, breadcrumbs,
log messages) which drops values under secret-looking keys and rewrites secrets inside strings: relay
`?password=`, callback `?secret=`, any `token=` / `signature=` / `X-Amz-Signature=` query value, API keys
(`tuco_sk_…`), webhook signing secrets (`whsec_…`), `Bearer …` and Fernet-style encryption keys.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

FILTERED = "[Filtered]"
# Keys whose values are dropped wherever they appear (compared lower-case, as substrings).
SECRET_KEYS = ("password", "passwd", "secret", "token", "api_key", "apikey", "authorization", "cookie",
               "session", "csrf", "credential", "signature", "private_key", "encryption_key", "dsn", "x-amz-")
_QUERY_SECRET = re.compile(
    r"(?i)((?:^|[?&;\s])(?:password|secret|token|access_token|api_key|apikey|key|sig|signature|auth|"
    r"x-amz-signature|x-amz-credential|x-amz-security-token)=)[^&#\s\"'<>]+")
_INLINE = [
    (re.compile(r"tuco_sk_[A-Za-z0-9_\-]+"), "tuco_sk_" + FILTERED),
    (re.compile(r"whsec_[A-Za-z0-9]+"), "whsec_" + FILTERED),
    (re.compile(r"(?i)\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=\-]+"), r"\1 " + FILTERED),
    (re.compile(r"\b[A-Za-z0-9_\-]{43}="), FILTERED),  # a Fernet key (TUCO_ENCRYPTION_KEYS)
    (re.compile(r"(?i)(://[^/\s:@]+:)[^@\s/]+@"), r"\1" + FILTERED + "@"),  # credentials in a URL
]


def scrub_text(text: str) -> str:
    text = _QUERY_SECRET.sub(r"\1" + FILTERED, text)
    for pattern, replacement in _INLINE:
        text = pattern.sub(replacement, text)
    return text


def _secret_key(key: Any) -> bool:
    lowered = str(key).lower()
    return any(word in lowered for word in SECRET_KEYS)


def scrub(value: Any) -> Any:
    """A copy of `value` (dicts, lists, strings, nested) with every secret filtered."""
    if isinstance(value, dict):
        return {key: FILTERED if _secret_key(key) and item not in (None, "", [], {}) else scrub(item)
                for key, item in value.items()}
    if isinstance(value, list | tuple):
        # sentry sends headers and query strings as [key, value] pairs too
        if len(value) == 2 and isinstance(value[0], str) and _secret_key(value[0]):
            return [value[0], FILTERED]
        return [scrub(item) for item in value]
    if isinstance(value, str):
        return scrub_text(value)
    return value


def scrub_event(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    return scrub(event)


def scrub_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    return scrub(crumb)


def sentry_init(*, dsn: str, environment: str = "", release: str = "", traces_sample_rate: float = 0.0,
                transport: Callable[..., Any] | None = None) -> bool:
    """Start reporting when `dsn` is set; returns whether it did."""
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber

    options: dict[str, Any] = {}
    if transport is not None:
        options["transport"] = transport
    sentry_sdk.init(
        dsn=dsn, environment=environment or None, release=release or None,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False, include_local_variables=True, max_request_body_size="never",
        event_scrubber=EventScrubber(denylist=[*DEFAULT_DENYLIST, *SECRET_KEYS], recursive=True),
        before_send=scrub_event, before_send_transaction=scrub_event, before_breadcrumb=scrub_breadcrumb,
        traces_sample_rate=traces_sample_rate, **options)
    return True
