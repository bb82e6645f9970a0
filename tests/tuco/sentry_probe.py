"""Run by tests/tuco/test_error_reporting.py in a subprocess (SENTRY_DSN set or not by the test): produces an
exception with secrets in its message and frame, a failing request with `?secret=`, an Authorization header
and a session cookie, and an error log line; then flushes. Prints {"enabled": bool}."""

from __future__ import annotations

import json
import logging
import os
from wsgiref.util import setup_testing_defaults

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tuco.test_settings")
django.setup()

import sentry_sdk  # noqa: E402
from django.conf import settings  # noqa: E402
from django.test import override_settings  # noqa: E402

from tuco.wsgi import application  # noqa: E402

# The secrets come from outside, as in production (the database, the environment): never in source lines,
# which sentry sends as context.
SECRET = json.loads(os.environ.get("PROBE_SECRETS", "{}"))


def relay_call(relay_password: str, url: str) -> None:
    api_key = SECRET["api_key"]
    raise RuntimeError(f"relay down: {url} with {api_key} (Authorization: Bearer {SECRET['bearer']})")


def main() -> None:
    try:
        relay_call(SECRET["relay_password"], f"https://mac.example/api/v1/ping?password={SECRET['relay_password']}")
    except RuntimeError:
        sentry_sdk.capture_exception()
    with override_settings(ROOT_URLCONF="tests.tuco.sentry_urls"):
        # Through the WSGI application, as gunicorn calls it (sentry reads URL, query and headers there).
        environ: dict[str, object] = {}
        setup_testing_defaults(environ)
        environ.update({"PATH_INFO": "/boom", "QUERY_STRING": f"secret={SECRET['callback']}&page=2",
                        "HTTP_HOST": "testserver", "HTTP_AUTHORIZATION": f"Bearer {SECRET['header_key']}",
                        "HTTP_COOKIE": f"sessionid={SECRET['cookie']}", "HTTP_X_API_KEY": SECRET["other_header"]})
        response = application(environ, lambda status, headers, exc_info=None: None)
        b"".join(response)
    logging.getLogger("tuco.probe").error(f"webhook failed: signing secret {SECRET['whsec']} at "
                                          f"https://user:{SECRET['url_password']}@hooks.example/in")
    sentry_sdk.flush(10)
    print(json.dumps({"enabled": settings.SENTRY_ENABLED}))


if __name__ == "__main__":
    main()
