"""No admin page ever carries a secret: relay/SMTP passwords, webhook secrets, provider tokens, API keys."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.urls import reverse

from fallback.models import FallbackConfig
from lines.models import Device
from tests.admin.conftest import logged_in, make_staff
from tuco.models import ApiKey
from tuco.services import api_key_create, hash_api_key

pytestmark = pytest.mark.django_db

TWILIO_TOKEN = "0123456789abcdef0123456789abcdef"
GHL_TOKEN = "ghl-token-S3CRET-value-000"
FALLBACK_WEBHOOK_SECRET = "fallback-hook-S3CRET-000000"


@pytest.fixture
def secrets(world_a) -> list[str]:
    line = world_a.line
    FallbackConfig.objects.create(
        workspace=world_a.workspace, provider="twilio", twilio_account_sid="AC" + "0" * 32,
        twilio_auth_token=TWILIO_TOKEN, twilio_from_number="+14155550100", ghl_location_id="loc1",
        ghl_api_token=GHL_TOKEN, webhook_url="https://hooks.example.com/sms", webhook_secret=FALLBACK_WEBHOOK_SECRET)
    key, raw_key = api_key_create(workspace=world_a.workspace, name="ci")
    return [line.device.relay_password, line.smtp_password, line.webhook_secret, TWILIO_TOKEN, GHL_TOKEN,
            FALLBACK_WEBHOOK_SECRET, raw_key, key.key_hash]


def _pages(world) -> list[str]:
    """Every changelist, add and change page of every registered model, plus the Unibox pages."""
    urls = [reverse("admin:index"), reverse("admin:unibox_threads"),
            reverse("admin:unibox_thread", args=[world.thread.pk])]
    for model in admin.site._registry:
        opts = model._meta
        if opts.app_label not in ("tuco", "webhooks", "leads", "lines", "messaging", "fallback"):
            continue
        urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
        first = model._default_manager.first()
        if first is not None:
            urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[first.pk]))
    return urls


def _assert_clean(client, urls: list[str], secrets: list[str]) -> int:
    checked = 0
    for url in urls:
        response = client.get(url)
        if response.status_code != 200:
            continue
        html = response.content.decode()
        for secret in secrets:
            assert secret not in html, f"a secret leaked on {url}"
        checked += 1
    return checked


def test_no_admin_page_shows_a_secret_to_a_superuser(alice, world_a, secrets) -> None:
    urls = _pages(world_a)
    checked = _assert_clean(logged_in(alice), urls, secrets)
    assert checked >= 30  # the crawl really rendered the pages


def test_view_only_staff_sees_no_secret_either(world_a, secrets) -> None:
    from django.contrib.auth.models import Permission

    viewer = make_staff("viewer", workspaces=[world_a.workspace], perms=False)
    viewer.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    # View-only change pages render every field as text: the secret columns must not be among them.
    urls = [reverse("admin:lines_device_change", args=[world_a.line.device_id]),
            reverse("admin:lines_line_change", args=[world_a.line.pk]),
            reverse("admin:fallback_fallbackconfig_change", args=[world_a.workspace.fallback_config.pk])]
    assert _assert_clean(logged_in(viewer), urls, secrets) == 3


def test_fallback_secrets_are_masked_like_the_api(alice, world_a, secrets) -> None:
    config = world_a.workspace.fallback_config
    html = logged_in(alice).get(reverse("admin:fallback_fallbackconfig_change", args=[config.pk])).content.decode()
    assert "••••cdef" in html  # the API's mask: last four of a long secret
    assert 'type="password"' in html


def test_device_password_is_write_only(alice, world_a) -> None:
    device = world_a.line.device
    url = reverse("admin:lines_device_change", args=[device.pk])
    form = {"workspace": device.workspace_id, "name": "Mac mini", "relay_url": device.relay_url,
            "chat_guid_prefix": "iMessage", "os_version": "", "device_gap_seconds": 30, "new_relay_password": "",
            "lines-TOTAL_FORMS": 0, "lines-INITIAL_FORMS": 0}
    client = logged_in(alice)
    assert client.post(url, form).status_code == 302
    device.refresh_from_db()
    assert (device.name, device.relay_password) == ("Mac mini", "relay-pw-Acme-S3CRET")

    assert client.post(url, {**form, "new_relay_password": "brand-new-pw"}).status_code == 302
    device.refresh_from_db()
    assert device.relay_password == "brand-new-pw"
    assert "brand-new-pw" not in client.get(url).content.decode()


def test_device_add_requires_a_password(alice, world_a) -> None:
    url = reverse("admin:lines_device_add")
    form = {"workspace": world_a.workspace.pk, "name": "", "relay_url": "http://mac2.test:1234/",
            "chat_guid_prefix": "iMessage", "os_version": "", "device_gap_seconds": 30,
            "lines-TOTAL_FORMS": 0, "lines-INITIAL_FORMS": 0}
    client = logged_in(alice)
    assert client.post(url, form).status_code == 200  # refused: no password
    assert client.post(url, {**form, "new_relay_password": "pw-for-mac2"}).status_code == 302
    device = Device.objects.get(relay_url="http://mac2.test:1234")
    assert device.relay_password == "pw-for-mac2"


def test_api_key_add_shows_the_raw_key_once(alice, world_a) -> None:
    client = logged_in(alice)
    response = client.post(reverse("admin:tuco_apikey_add"), {"workspace": world_a.workspace.pk, "name": "zapier"},
                           follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    raw = re.search(r"tuco_sk_[A-Za-z0-9_-]+", html)
    assert raw is not None, "the new key is shown on the page after creation"
    key = ApiKey.objects.get(name="zapier")
    assert key.key_hash == hash_api_key(raw.group(0))  # made by api_key_create: only the hash is stored
    # Shown once: the next pages no longer carry it.
    for url in (reverse("admin:tuco_apikey_changelist"), reverse("admin:tuco_apikey_change", args=[key.pk])):
        assert raw.group(0) not in client.get(url).content.decode()


def test_fallback_config_admin_validates_through_the_service(alice, world_b) -> None:
    client = logged_in(alice)
    url = reverse("admin:fallback_fallbackconfig_add")
    base = {"workspace": world_b.workspace.pk, "provider": "twilio", "twilio_account_sid": "nope",
            "twilio_from_number": "+14155550100", "ghl_location_id": "", "webhook_url": "",
            "new_twilio_auth_token": TWILIO_TOKEN}
    response = client.post(url, base)
    assert response.status_code == 200
    assert "twilio.accountSid must be &#x27;AC&#x27; followed by 32 hexadecimal characters" in response.content.decode()

    response = client.post(url, {**base, "twilio_account_sid": "AC" + "1" * 32}, follow=True)
    assert response.status_code == 200
    config = FallbackConfig.objects.get(workspace=world_b.workspace)
    assert (config.provider, config.twilio_auth_token, config.is_configured) == ("twilio", TWILIO_TOKEN, True)
    assert TWILIO_TOKEN not in response.content.decode()
    assert not [m for m in get_messages(response.wsgi_request) if "error" in m.tags]


def test_fallback_provider_needs_its_settings(alice, world_b) -> None:
    response = logged_in(alice).post(reverse("admin:fallback_fallbackconfig_add"), {
        "workspace": world_b.workspace.pk, "provider": "ghl", "ghl_location_id": "loc-1", "twilio_account_sid": "",
        "twilio_from_number": "", "webhook_url": ""})
    assert response.status_code == 200
    assert "The ghl provider needs all of its settings filled in." in response.content.decode()
    assert not FallbackConfig.objects.filter(workspace=world_b.workspace).exists()
