from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.test import override_settings

from fallback.models import FallbackConfig
from tests.conftest import client_for
from tests.factories import WorkspaceFactory
from tests.fallback.factories import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    FROM_NUMBER,
    GHL_LOCATION,
    GHL_TOKEN,
    WEBHOOK_SECRET,
    FallbackConfigFactory,
)
from tuco.services import api_key_create

URL = "/api/workspace/fallback-config"
TWILIO = {"accountSid": ACCOUNT_SID, "authToken": AUTH_TOKEN, "fromNumber": FROM_NUMBER}


def _patch(api: Any, body: Any, status: int = 200) -> dict[str, Any]:
    response = api.patch(URL, body, format="json")
    assert response.status_code == status, response.content
    return response.json()


def _row(workspace: Any) -> dict[str, Any] | None:
    return FallbackConfig.objects.filter(workspace=workspace).values().first()


def test_get_without_config_is_empty_and_creates_nothing(api, workspace) -> None:
    body = api.get(URL).json()
    assert body["provider"] is None and body["configured"] is False
    assert body["twilio"] == {"accountSid": None, "authToken": None, "authTokenSet": False, "fromNumber": None,
                              "configured": False}
    assert body["ghl"]["apiTokenSet"] is False and body["webhook"]["url"] is None
    assert body["sendFallbackSmsOnFailed"] is False
    assert body["statusCallbackUrl"].endswith(f"/hooks/twilio/status?ws={workspace.pk}")
    assert not FallbackConfig.objects.exists()


def test_patch_twilio_masks_the_token(api, workspace) -> None:
    body = _patch(api, {"provider": "twilio", "twilio": TWILIO, "sendFallbackSmsOnFailed": True})
    assert body["provider"] == "twilio" and body["configured"] is True
    assert body["twilio"] == {"accountSid": ACCOUNT_SID, "authToken": "••••1234", "authTokenSet": True,
                              "fromNumber": FROM_NUMBER, "configured": True}
    assert body["sendFallbackSmsOnFailed"] is True
    assert AUTH_TOKEN not in json.dumps(body)
    assert AUTH_TOKEN not in api.get(URL).content.decode()
    row = FallbackConfig.objects.get(workspace=workspace)
    assert row.twilio_auth_token == AUTH_TOKEN and row.is_configured


def test_partial_patch_keeps_stored_secrets(api, workspace) -> None:
    _patch(api, {"provider": "twilio", "twilio": TWILIO})
    body = _patch(api, {"twilio": {"fromNumber": "+1 (415) 555-0199"}})
    assert body["twilio"]["fromNumber"] == "+14155550199" and body["configured"] is True
    row = FallbackConfig.objects.get(workspace=workspace)
    assert row.twilio_auth_token == AUTH_TOKEN and row.twilio_account_sid == ACCOUNT_SID


def test_masked_value_sent_back_keeps_the_secret(api, workspace) -> None:
    _patch(api, {"provider": "twilio", "twilio": TWILIO})
    document = api.get(URL).json()
    document["sendFallbackSmsOnFailed"] = True  # a client edits the GET body and sends it all back
    body = _patch(api, document)
    assert body["sendFallbackSmsOnFailed"] is True
    assert FallbackConfig.objects.get(workspace=workspace).twilio_auth_token == AUTH_TOKEN


@pytest.mark.parametrize("patch,field,code", [
    ({"twilio": {"accountSid": "AC123"}}, "twilio.accountSid", "INVALID_FALLBACK_CONFIG"),
    ({"twilio": {"accountSid": "SK" + "a" * 32}}, "twilio.accountSid", "INVALID_FALLBACK_CONFIG"),
    ({"twilio": {"authToken": "short"}}, "twilio.authToken", "INVALID_FALLBACK_CONFIG"),
    ({"twilio": {"fromNumber": "4155550100"}}, "twilio.fromNumber", "INVALID_FALLBACK_CONFIG"),
    ({"twilio": {"fromNumber": "+1415"}}, "twilio.fromNumber", "INVALID_FALLBACK_CONFIG"),
    ({"twilio": {"fromNumber": 14155550100}}, "twilio.fromNumber", "INVALID_FALLBACK_CONFIG"),
    ({"twilio": "yes"}, "twilio", "INVALID_FALLBACK_CONFIG"),
    ({"provider": "sendgrid"}, "provider", "INVALID_FALLBACK_CONFIG"),
    ({"sendFallbackSmsOnFailed": "true"}, "sendFallbackSmsOnFailed", "INVALID_FALLBACK_CONFIG"),
    ({"webhook": {"url": "ftp://example.com/x"}}, "webhook.url", "INVALID_FALLBACK_CONFIG"),
    ({"webhook": {"url": "https://example.com/x", "secret": "tiny"}}, "webhook.secret", "INVALID_FALLBACK_CONFIG"),
    ({"ghl": {"locationId": "has spaces in it"}}, "ghl.locationId", "INVALID_FALLBACK_CONFIG"),
    ({"provider": "twilio", "twilio": {"accountSid": ACCOUNT_SID, "fromNumber": FROM_NUMBER}},
     "twilio.authToken", "FALLBACK_CONFIG_INCOMPLETE"),
    ({"provider": "ghl", "ghl": {"locationId": GHL_LOCATION}}, "ghl.apiToken", "FALLBACK_CONFIG_INCOMPLETE"),
    ({"provider": "webhook"}, "webhook.url", "FALLBACK_CONFIG_INCOMPLETE"),
])
def test_invalid_patch_is_400_and_changes_nothing(api, workspace, patch, field, code) -> None:
    _patch(api, {"provider": None, "ghl": {"locationId": "loc1"}, "sendFallbackSmsOnFailed": True})
    before = _row(workspace)
    body = _patch(api, patch, 400)
    assert body["code"] == code and body["field"] == field and body["error"]
    assert _row(workspace) == before


def test_unknown_fields_are_ignored_and_named(api, workspace) -> None:
    body = _patch(api, {"provider": "twilio", "twilio": {**TWILIO, "sid": "x"}, "fallbackProvider": "ghl"})
    assert body["provider"] == "twilio" and body["configured"] is True
    assert body["ignoredFields"] == ["twilio.sid", "fallbackProvider"]
    assert "ignoredFields" not in api.get(URL).json()
    assert "ignoredFields" not in _patch(api, {"sendFallbackSmsOnFailed": True})


def test_invalid_first_patch_creates_no_row(api, workspace) -> None:
    body = _patch(api, {"provider": "twilio", "twilio": {"accountSid": ACCOUNT_SID}}, 400)
    assert body["code"] == "FALLBACK_CONFIG_INCOMPLETE"
    assert not FallbackConfig.objects.exists()


def test_one_bad_field_rejects_the_whole_patch(api, workspace) -> None:
    _patch(api, {"provider": "twilio", "twilio": TWILIO})
    _patch(api, {"sendFallbackSmsOnFailed": True, "twilio": {"fromNumber": "+14155550111",
                                                               "accountSid": "nope"}}, 400)
    row = FallbackConfig.objects.get(workspace=workspace)
    assert row.twilio_from_number == FROM_NUMBER and row.send_fallback_sms_on_failed is False


def test_body_must_be_an_object(api) -> None:
    assert _patch(api, [1, 2], 400)["code"] == "INVALID_FALLBACK_CONFIG"


def test_ghl_config(api, workspace) -> None:
    body = _patch(api, {"provider": "ghl", "ghl": {"locationId": GHL_LOCATION, "apiToken": GHL_TOKEN}})
    assert body["configured"] is True and body["ghl"]["locationId"] == GHL_LOCATION
    assert body["ghl"]["apiToken"] == "••••b9f1" and body["ghl"]["apiTokenSet"] is True
    assert GHL_TOKEN not in json.dumps(body)


def test_webhook_with_secret(api, workspace) -> None:
    body = _patch(api, {"provider": "webhook", "webhook": {"url": "https://hooks.example.com/sms",
                                                           "secret": WEBHOOK_SECRET}})
    assert body["configured"] is True and body["webhook"]["url"] == "https://hooks.example.com/sms"
    assert body["webhook"]["secret"] == "••••cdef" and "secretGenerated" not in body["webhook"]
    assert WEBHOOK_SECRET not in json.dumps(body)


def test_webhook_without_secret_gets_one_generated_and_shown_once(api, workspace) -> None:
    body = _patch(api, {"provider": "webhook", "webhook": {"url": "https://hooks.example.com/sms"}})
    secret = FallbackConfig.objects.get(workspace=workspace).webhook_secret
    assert secret.startswith("whsec_") and body["webhook"]["secret"] == secret
    assert body["webhook"]["secretGenerated"] is True
    again = api.get(URL).json()
    assert secret not in json.dumps(again) and again["webhook"]["secretSet"] is True
    # A later PATCH keeps it (nothing generated, nothing revealed).
    body = _patch(api, {"sendFallbackSmsOnFailed": True})
    assert secret not in json.dumps(body) and FallbackConfig.objects.get(workspace=workspace).webhook_secret == secret


@override_settings(TUCO_ALLOW_PRIVATE_URLS=False)
@pytest.mark.parametrize("url,reason", [
    ("http://hooks.example.com/sms", "https"),
    ("https://127.0.0.1/sms", "private"),
    ("https://10.1.2.3/sms", "private"),
    ("https://localhost/sms", "not allowed"),
    ("https://user:pw@hooks.example.com/sms", "credentials"),
])
def test_webhook_url_must_be_public_https_in_production(api, url, reason) -> None:
    body = _patch(api, {"provider": "webhook", "webhook": {"url": url, "secret": WEBHOOK_SECRET}}, 400)
    assert body["field"] == "webhook.url" and reason in body["error"]
    assert not FallbackConfig.objects.exists()


def test_provider_null_turns_fallback_off_but_keeps_credentials(api, workspace) -> None:
    _patch(api, {"provider": "twilio", "twilio": TWILIO})
    body = _patch(api, {"provider": None})
    assert body["provider"] is None and body["configured"] is False and body["twilio"]["configured"] is True
    body = _patch(api, {"provider": "twilio"})
    assert body["configured"] is True


def test_section_null_clears_it(api, workspace) -> None:
    _patch(api, {"provider": "twilio", "twilio": TWILIO})
    assert _patch(api, {"twilio": None}, 400)["code"] == "FALLBACK_CONFIG_INCOMPLETE"  # still the chosen provider
    body = _patch(api, {"provider": None, "twilio": None})
    assert body["twilio"]["authTokenSet"] is False
    assert FallbackConfig.objects.get(workspace=workspace).twilio_auth_token == ""


def test_from_number_is_stored_in_e164(api, workspace) -> None:
    body = _patch(api, {"provider": "twilio", "twilio": {**TWILIO, "fromNumber": " +44 20 7946 0958 "}})
    assert body["twilio"]["fromNumber"] == "+442079460958"
    assert _patch(api, {"twilio": {"fromNumber": "MG" + "0123456789abcdef" * 2}}, 400)["field"] == "twilio.fromNumber"


def test_workspaces_are_isolated(api, workspace) -> None:
    other = WorkspaceFactory()
    FallbackConfigFactory(workspace=other)
    assert api.get(URL).json()["provider"] is None
    _patch(api, {"sendFallbackSmsOnFailed": True})
    assert FallbackConfig.objects.get(workspace=other).send_fallback_sms_on_failed is False


def test_auth_and_read_only(client, workspace) -> None:
    assert client.get(URL).status_code == 401
    assert client.patch(URL, data="{}", content_type="application/json").status_code == 401
    workspace.billing_status = "past_due"
    workspace.save()
    _, raw = api_key_create(workspace=workspace)
    api = client_for(raw)
    assert api.get(URL).status_code == 200
    body = _patch(api, {"sendFallbackSmsOnFailed": True}, 402)
    assert body == {"error": "READ_ONLY", "code": "READ_ONLY", "reason": "past_due"}
    assert not FallbackConfig.objects.exists()


def test_secrets_never_reach_the_logs(api, workspace, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    _patch(api, {"provider": "twilio", "twilio": TWILIO,
                 "ghl": {"locationId": GHL_LOCATION, "apiToken": GHL_TOKEN},
                 "webhook": {"url": "https://hooks.example.com/sms", "secret": WEBHOOK_SECRET}})
    _patch(api, {"twilio": {"authToken": "not-hex"}}, 400)
    api.get(URL)
    assert any("fallback.config_updated" in str(r.msg) for r in caplog.records)  # the capture works
    text = caplog.text + "".join(str(r.msg) for r in caplog.records)
    for secret in (AUTH_TOKEN, GHL_TOKEN, WEBHOOK_SECRET):
        assert secret not in text


def test_schema_documents_the_endpoint(client) -> None:
    schema = client.get("/api/schema", HTTP_ACCEPT="application/json").json()
    operations = schema["paths"]["/api/workspace/fallback-config"]
    assert set(operations) >= {"get", "patch"}
    assert {"200", "400", "401", "402"} <= set(operations["patch"]["responses"])
    ref = operations["patch"]["requestBody"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
    properties = schema["components"]["schemas"][ref]["properties"]
    assert {"provider", "twilio", "ghl", "webhook", "sendFallbackSmsOnFailed"} <= set(properties)
