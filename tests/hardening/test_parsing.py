"""Request bodies the API must refuse cleanly, and text it must keep exactly.

Every refusal is JSON in the `{"error", "code"}` shape with a 4xx status, never
Django's HTML page or a 500, and changes nothing:

- a body over DATA_UPLOAD_MAX_MEMORY_SIZE → 413 PAYLOAD_TOO_LARGE;
- JSON nested 5,000 (or just 100) levels deep, bytes that are not UTF-8, NaN → 400 INVALID_JSON;
- a Content-Type the endpoint does not parse → 415 UNSUPPORTED_MEDIA_TYPE;
- a body that is not an object, or a field of the wrong JSON type, on every JSON write
  operation of the OpenAPI document → 400;
- unknown fields are ignored on create, send and update (PATCH names them in `ignoredFields`).

Emoji, right-to-left text and combining characters come back byte for byte.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.hardening.conftest import call, client_with
from tests.hardening.routes import WRITE_METHODS, routes
from tests.hardening.seed import PNG, Seeded, db_snapshot, seeded_path_ids, snapshot_diff

MIDDLEWARE = "tuco.limits.BodyLimitMiddleware"
MULTIPART_ROUTES = {"api/uploads", "api/leads/import"}
TOO_BIG = json.dumps({"message": "x" * (1024 * 1024 + 1), "recipientPhone": "+12025550190"})


@pytest.fixture(autouse=True)
def _no_rate_limits(settings: Any) -> None:
    settings.TUCO_RATE_LIMITS_ENABLED = False  # dozens of sends; the limits have their own tests


def _schema() -> dict[str, Any]:
    return Client().get("/api/schema", HTTP_ACCEPT="application/json").json()


def _json_operations(seeded: Seeded) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(operation id, method, path with own ids, request body schema) of every operation taking a JSON body."""
    ids = seeded_path_ids(seeded)
    schema = _schema()
    found = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            content = (operation.get("requestBody") or {}).get("content", {})
            if "application/json" in content:
                body_schema = _resolve(schema, content["application/json"]["schema"])
                found.append((operation["operationId"], method.upper(), path.format(**ids), body_schema))
    assert len(found) >= 10, [f[0] for f in found]
    return found


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    if "allOf" in node and len(node["allOf"]) == 1:
        return _resolve(schema, node["allOf"][0])
    return node


def _assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert isinstance(body.get("error"), str) and body["error"], body
    if code:
        assert body.get("code") == code, body
    return body


# --- size -------------------------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_413_on_every_json_operation(seeded_a: Seeded) -> None:
    api = client_with(seeded_a.auth)
    before = db_snapshot()
    for operation_id, method, path, _ in _json_operations(seeded_a):
        body = _assert_error(call(api, method, path, TOO_BIG), 413, "PAYLOAD_TOO_LARGE")
        assert "1 MB" in body["error"], (operation_id, body)
    assert not snapshot_diff(before, db_snapshot())


def test_a_body_just_under_the_limit_is_parsed(seeded_a: Seeded) -> None:
    # Parsed and judged on its content: the send path's own length rule, not the size limit.
    raw = json.dumps({"message": "x" * (1024 * 1024 - 100), "recipientPhone": "+12025550190"})
    body = _assert_error(call(client_with(seeded_a.auth), "POST", "/api/messages", raw), 400)
    assert body.get("code") == "MESSAGE_TOO_LONG", body


def test_the_limit_middleware_refuses_every_write_route_before_it_reads(seeded_a: Seeded, settings: Any) -> None:
    if MIDDLEWARE not in settings.MIDDLEWARE:
        settings.MIDDLEWARE = [settings.MIDDLEWARE[0], MIDDLEWARE, *settings.MIDDLEWARE[1:]]
    # Raw inbound emails have their own, larger cap (tests/lines/test_email_inbound.py); held to the
    # API's here so one oversized body checks every route.
    settings.TUCO_INBOUND_EMAIL_MAX_BYTES = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    api = client_with(seeded_a.auth)
    values = seeded_path_ids(seeded_a)
    before = db_snapshot()
    checked = 0
    for route in routes():
        if route.pattern in MULTIPART_ROUTES:
            continue
        for method in route.methods:
            if method not in WRITE_METHODS:
                continue
            path = route.path(**{name: values[name] for name in route.params})
            response = call(api, method, path + f"?secret={seeded_a.line.webhook_secret}", TOO_BIG)
            _assert_error(response, 413, "PAYLOAD_TOO_LARGE")
            assert response.has_header("X-Correlation-Id")
            checked += 1
    assert checked >= 15
    assert not snapshot_diff(before, db_snapshot())
    # A form post to a hook (Twilio's format) is held to the same limit.
    form = "Body=" + "x" * (1024 * 1024 + 1)
    _assert_error(Client().post("/hooks/twilio/status?ws=x", form, content_type="application/x-www-form-urlencoded"),
                  413)
    # Multipart uploads keep their own, larger limits: a 2 MB image is not refused by the JSON limit.
    image = SimpleUploadedFile("big.png", PNG + b"\0" * (2 * 1024 * 1024), "image/png")
    uploaded = api.post("/api/uploads", {"file": image}, format="multipart")
    assert uploaded.status_code == 201, uploaded.content


def test_body_limit_middleware_is_installed(settings: Any) -> None:
    # Without it the DRF views still answer 413 (tuco.errors), but the relay and Twilio webhooks answer
    # Django's HTML 400 page, and bodies of views that never read them are not refused.
    assert MIDDLEWARE in settings.MIDDLEWARE, f"add {MIDDLEWARE!r} to MIDDLEWARE, after CorrelationIdMiddleware"
    correlation = settings.MIDDLEWARE.index("tuco.middleware.CorrelationIdMiddleware")
    assert settings.MIDDLEWARE.index(MIDDLEWARE) == correlation + 1


# --- structure and encoding -------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [
    "[" * 5000 + "]" * 5000,
    '{"a":' * 5000 + "1" + "}" * 5000,
    '{"message": "hi", "recipientPhone": "+12025550191", "x": ' + "[" * 100 + "]" * 100 + "}",
], ids=["5000-arrays", "5000-objects", "100-deep-field"])
def test_deeply_nested_json_is_400_on_every_json_operation(seeded_a: Seeded, raw: str) -> None:
    api = client_with(seeded_a.auth)
    before = db_snapshot()
    for operation_id, method, path, _ in _json_operations(seeded_a):
        body = _assert_error(call(api, method, path, raw), 400, "INVALID_JSON")
        assert "nested too deeply" in body["error"], (operation_id, body)
    assert not snapshot_diff(before, db_snapshot())


@pytest.mark.parametrize("raw", [
    b'{"message": "caf\xe9", "recipientPhone": "+12025550192"}',  # Latin-1, not UTF-8
    b'{"message": "\xff\xfe\x00h\x00i", "recipientPhone": "+12025550192"}',
    b'\xef\xbb\xbf{"message": "BOM", "recipientPhone": "+12025550192"}',
    b'{"message": NaN, "recipientPhone": "+12025550192"}',
    b'{"message": "hi", "recipientPhone": "+12025550192"',
    b'{"message": "nul\\u0000", "recipientPhone": "+12025550192"}',
], ids=["latin-1", "utf-16-bytes", "utf-8-bom", "nan", "truncated", "nul"])
def test_undecodable_bodies_are_400_on_every_json_operation(seeded_a: Seeded, raw: bytes) -> None:
    api = client_with(seeded_a.auth)
    before = db_snapshot()
    for _, method, path, _ in _json_operations(seeded_a):
        response = api.generic(method, path, raw, content_type="application/json")
        _assert_error(response, 400, "INVALID_JSON")
    assert not snapshot_diff(before, db_snapshot())


@pytest.mark.parametrize(("content_type", "raw"), [
    ("text/plain", "hello"),
    ("application/x-www-form-urlencoded", "message=hi&recipientPhone=%2B12025550193"),
    ("application/xml", "<message>hi</message>"),
])
def test_other_content_types_are_415_on_every_json_operation(seeded_a: Seeded, content_type: str, raw: str) -> None:
    api = client_with(seeded_a.auth)
    before = db_snapshot()
    for _, method, path, _ in _json_operations(seeded_a):
        _assert_error(api.generic(method, path, raw, content_type=content_type), 415, "UNSUPPORTED_MEDIA_TYPE")
    assert not snapshot_diff(before, db_snapshot())


# --- JSON types -------------------------------------------------------------------------------------------

# A body each operation accepts, so a wrong type in one field is the only thing wrong with the request.
VALID: dict[str, dict[str, Any]] = {
    "messages_send": {"message": "types", "recipientPhone": "+12025550194"},
    "unibox_send_reply": {"threadId": "{thread_id}", "message": "types"},
    # To the seeded do-not-contact number: accepted (200, success false) without calling the fallback provider.
    "fallback_sms_send": {"message": "types", "recipientPhone": "{dnc_phone}"},
    "leads_create": {"leads": [{"phone": "+12025550195"}]},
    "leads_update": {"firstName": "Ann"},
    "lists_create": {"name": "types list"},
    "dnc_create": {"phone": "+12025550196"},
    "webhooks_create": {"url": "https://hooks.example.com/types", "events": ["message.sent"], "name": "types"},
    "webhooks_update": {"name": "types 2"},
    "fallback_config_update": {"sendFallbackSmsOnFailed": False},
    "availability_rr": {"phones": ["+12025550197"]},
    "leads_check_availability": {"leadIds": ["{lead_id}"]},
    "campaigns_create": {"name": "types", "steps": [{"message": "Hi {firstName}"}]},
    "campaigns_update": {"name": "types 2"},
    "campaigns_add_lead": {"leadId": "{lead_id}"},
}
_WRONG: dict[str, list[Any]] = {
    "string": [12345, {"a": 1}, ["x"]],
    "integer": ["7", 1.5, {"a": 1}],
    "number": ["7", {"a": 1}],
    "boolean": ["true", 1, {"a": 1}],
    "array": [{"a": 1}, 12345],
    "object": [["x"], 12345, "x"],
}


def _type_of(schema: dict[str, Any], node: dict[str, Any]) -> str | None:
    node = _resolve(schema, node)
    if "type" in node:
        return node["type"]
    if "properties" in node or "additionalProperties" in node:
        return "object"
    return None


def test_wrong_json_types_are_400_on_every_json_operation(seeded_a: Seeded) -> None:
    api = client_with(seeded_a.auth)
    schema = _schema()
    operations = _json_operations(seeded_a)
    assert {op for op, *_ in operations} <= set(VALID), "add a valid body for the new operation to VALID"
    wrong = []
    for operation_id, method, path, body_schema in operations:
        placeholders = {"{lead_id}": seeded_a.lead.pk, "{thread_id}": seeded_a.thread.pk,
                        "{dnc_phone}": seeded_a.dnc.address}
        raw = json.dumps(VALID[operation_id])
        for placeholder, value in placeholders.items():
            raw = raw.replace(placeholder, value)
        valid = json.loads(raw)
        base = call(api, method, path, valid)
        base_code = base.json().get("code") if base.status_code >= 400 else None
        # (The availability checks have no Private API line here: their valid body is a 400 NO_CHECKING_LINE,
        # so a type error must be a 400 with another code.)
        assert base.status_code < 300 or base_code == "NO_CHECKING_LINE", (operation_id, base.content)
        for not_an_object in ([], ["x"], "text", 12, True, None):
            response = call(api, method, path, json.dumps(not_an_object))
            if response.status_code != 400 or (base_code and response.json().get("code") == base_code):
                wrong.append(f"{operation_id} body {not_an_object!r}: {response.status_code} {response.content[:150]}")
        for name, prop in body_schema.get("properties", {}).items():
            kind = _type_of(schema, prop)
            for value in _WRONG.get(kind or "", []):
                response = call(api, method, path, {**valid, name: value})
                code = response.json().get("code") if response["Content-Type"].startswith("application/json") else ""
                if response.status_code != 400 or (base_code and code == base_code):
                    wrong.append(f"{operation_id} {name}={value!r} ({kind}): {response.status_code} "
                                 f"{response.content[:150]}")
    assert not wrong, "Wrong JSON types accepted:\n" + "\n".join(wrong)


def test_unknown_fields_are_ignored_on_create_send_and_update(seeded_a: Seeded) -> None:
    api = client_with(seeded_a.auth)
    extra = {"unknownField": {"nested": [1, 2]}, "_id": "ffffffffffffffffffffffff", "workspaceId": "x"}
    sent = call(api, "POST", "/api/messages", {"message": "unknown fields", "recipientPhone": "+12025550199",
                                               **extra})
    assert sent.status_code == 201, sent.content
    assert "unknownField" not in sent.json()["message"] and sent.json()["message"]["_id"] != extra["_id"]
    lead = call(api, "POST", "/api/leads", {"leads": [{"phone": "+12025550200", "shoeSize": 44}], **extra})
    assert lead.status_code == 201, lead.content
    assert call(api, "POST", "/api/lists", {"name": "unknown fields", **extra}).status_code == 201
    assert call(api, "POST", "/api/dnc", {"phone": "+12025550201", **extra}).status_code == 201
    hook = call(api, "POST", "/api/webhooks", {"url": "https://hooks.example.com/u", "events": ["message.sent"],
                                               "name": "u", **extra})
    assert hook.status_code == 201, hook.content
    assert call(api, "PATCH", f"/api/webhooks/{hook.json()['id']}", {"name": "u2", **extra}).status_code == 200
    lead_id = lead.json()["leadIds"][0]
    patched = call(api, "PATCH", f"/api/leads/{lead_id}", {"firstName": "Unknown", **extra})
    assert patched.status_code == 200 and patched.json()["lead"]["_id"] == lead_id, patched.content
    config = call(api, "PATCH", "/api/workspace/fallback-config", {"sendFallbackSmsOnFailed": False, **extra})
    assert config.status_code == 200 and "unknownField" in config.json()["ignoredFields"], config.content


# --- text kept exactly ------------------------------------------------------------------------------------

TEXT = ("Hola 👋🏽 family 👨‍👩‍👧‍👦 flags 🇺🇸🏳️‍🌈 — שלום עולם ‏مرحبا بالعالم‎ "
        "cafe\u0301 Z\u0351\u036b\u0343a\u0310l\u0357g\u0344o 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ﷽ \u200dzwj \ufeffbom-in-text 中文 日本語")


def test_unicode_and_emoji_come_back_identical(seeded_a: Seeded) -> None:
    api = client_with(seeded_a.auth)
    sent = call(api, "POST", "/api/messages", {"message": TEXT, "recipientPhone": "+12025550202",
                                               "recipientName": "Zoë ‏עברית‎ 🚀"})
    assert sent.status_code == 201, sent.content
    message_id = sent.json()["message"]["_id"]
    read = api.get(f"/api/messages/{message_id}").json()["message"]
    assert read["message"] == TEXT
    assert read["message"].encode("utf-8") == TEXT.encode("utf-8")
    assert read["recipientName"] == "Zoë ‏עברית‎ 🚀"
    created = call(api, "POST", "/api/leads", {"leads": [{"phone": "+12025550203", "firstName": "e\u0301🇯🇵",
                                                          "notes": TEXT, "customFields": {"🔑": TEXT}}]})
    assert created.status_code == 201, created.content
    lead = api.get(f"/api/leads/{created.json()['leadId']}").json()["lead"]
    assert lead["firstName"] == "e\u0301🇯🇵" and lead["notes"] == TEXT and lead["customFields"] == {"🔑": TEXT}
    # Escaped in the request (\\ud83d\\udc4b...) or raw UTF-8: the same text.
    escaped = json.dumps({"message": TEXT + " escaped", "recipientPhone": "+12025550204"}, ensure_ascii=True)
    sent = call(api, "POST", "/api/messages", escaped)
    assert sent.status_code == 201, sent.content
    assert api.get(f"/api/messages/{sent.json()['message']['_id']}").json()["message"]["message"] == TEXT + " escaped"
