"""A URL conf for tests/tuco/sentry_probe.py: one view that fails with secrets in its frame."""

import json
import os

from django.http import HttpRequest, HttpResponse
from django.urls import path


def boom(request: HttpRequest) -> HttpResponse:
    fallback_token = json.loads(os.environ["PROBE_SECRETS"])["twilio"]  # a frame variable sentry would send
    raise ValueError(f"provider refused token {fallback_token[:4]}… for {request.get_full_path()}")


urlpatterns = [path("boom", boom)]
