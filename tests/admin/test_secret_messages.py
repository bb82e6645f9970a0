"""A secret shown once in the admin (a new API key, a webhook signing secret) travels in no cookie.

Django's default message storage puts messages in a signed but readable cookie, so the raw key would
sit in the browser's cookie store, proxies' logs and anything that records headers. Messages live in
the server-side session instead (MESSAGE_STORAGE); the session cookie carries only the session id.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.messages.storage.cookie import CookieStorage
from django.http import HttpRequest
from django.urls import reverse

from tests.admin.conftest import logged_in
from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db


def _cookie_texts(*responses: Any) -> list[str]:
    """Every cookie the responses set, raw and (for a messages cookie) decoded."""
    texts = []
    for response in responses:
        for name, morsel in response.cookies.items():
            texts.append(f"{name}={morsel.value}")
            decoded = CookieStorage(HttpRequest())._decode(morsel.value)
            if decoded:
                texts.append(repr([str(message) for message in decoded]))
    return texts


def _shown_once(client: Any, add_url: str, form: dict[str, Any], pattern: str) -> tuple[str, list[str]]:
    created = client.post(add_url, form)
    assert created.status_code == 302, created.content[:300]
    page = client.get(created["Location"])
    found = re.search(pattern, page.content.decode())
    assert found is not None, "the secret is shown on the page after creation"
    return found.group(0), _cookie_texts(created, page)


def test_a_new_api_keys_raw_value_is_in_no_cookie(alice: Any, world_a: Any) -> None:
    raw, cookies = _shown_once(logged_in(alice), reverse("admin:tuco_apikey_add"),
                               {"workspace": world_a.workspace.pk, "name": "zapier"}, r"tuco_sk_[A-Za-z0-9_-]+")
    assert not any(raw in text for text in cookies), cookies
    assert not any(text.startswith("messages=") for text in cookies)


def test_a_new_webhooks_signing_secret_is_in_no_cookie(alice: Any, world_a: Any) -> None:
    form = {"workspace": world_a.workspace.pk, "name": "ops hook", "description": "",
            "url": "https://example.com/x", "events": ["message.sent"]}
    secret, cookies = _shown_once(logged_in(alice), "/admin/webhooks/webhookendpoint/add/", form,
                                  r"whsec_[A-Za-z0-9_-]+")
    assert secret == WebhookEndpoint.objects.get(name="ops hook").secret
    assert not any(secret in text for text in cookies), cookies
