"""Query and path parameters no route can use are one 400, wherever they appear (tuco.request_params).

Walked, not listed: every query parameter of every GET operation of the OpenAPI document,
and every path parameter of every route of the URL conf (API, provider callbacks, upload
links), each sent as a NUL (`%00`), a lone surrogate (`%ED%A0%80`), a byte that is no UTF-8
(`%FF`) and a value over MAX_PARAMETER_LENGTH. Each is a 400
`{"error": "... 'name' ...", "code": "INVALID_PARAMETER"}` that names the parameter and
writes nothing. An endpoint added later is walked without anyone adding it here.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.test import Client

from messaging.attachments.uploads import upload_create
from tests.hardening.conftest import call, client_with
from tests.hardening.routes import ALL_PREFIXES, routes
from tests.hardening.seed import PNG, Seeded, db_snapshot, seeded_path_ids, snapshot_diff
from tuco.request_params import MAX_PARAMETER_LENGTH

BAD_VALUES = {
    "NUL": "%00",
    "NUL inside text": "ab%00cd",
    "lone surrogate": "%ED%A0%80",
    "not UTF-8": "%FF",
    "overlong": "a" * (MAX_PARAMETER_LENGTH + 1),
}
PROBLEM_WORDS = {"NUL": "NUL", "NUL inside text": "NUL", "lone surrogate": "UTF-8", "not UTF-8": "UTF-8",
                 "overlong": str(MAX_PARAMETER_LENGTH)}


@pytest.fixture(autouse=True)
def _no_rate_limits(settings: Any) -> None:
    settings.TUCO_RATE_LIMITS_ENABLED = False  # hundreds of requests; the limits have their own tests


def _ids(seeded: Seeded) -> dict[str, str]:
    return seeded_path_ids(seeded)


def _get_query_parameters() -> list[tuple[str, str]]:
    """(path template, parameter name) of every query parameter of every GET operation in /api/schema."""
    schema = Client().get("/api/schema", HTTP_ACCEPT="application/json").json()
    found = []
    for path, operations in schema["paths"].items():
        for parameter in operations.get("get", {}).get("parameters", []):
            if parameter["in"] == "query":
                found.append((path, parameter["name"]))
    return found


def _assert_refused(response: Any, where: str, name: str, kind: str) -> str | None:
    """None when `response` is the INVALID_PARAMETER 400 naming `name`, else what is wrong."""
    if response.status_code != 400 or not response["Content-Type"].startswith("application/json"):
        return f"{where} [{kind}]: {response.status_code} {response.content[:120]!r}"
    body = response.json()
    if body.get("code") != "INVALID_PARAMETER" or f"'{name}'" not in body.get("error", "") \
            or PROBLEM_WORDS[kind] not in body["error"]:
        return f"{where} [{kind}]: {body}"
    return None


def test_every_get_filter_refuses_nul_broken_utf8_and_overlong_values(seeded_a: Seeded) -> None:
    parameters = _get_query_parameters()
    # Discovered, so this pins the discovery rather than the list: the messages filters are among them.
    assert {("/api/messages", "recipient"), ("/api/replies", "leadId"), ("/api/leads", "search")} <= set(parameters)
    assert len(parameters) >= 35, parameters
    client = client_with(seeded_a.auth)
    ids = _ids(seeded_a)
    before = db_snapshot()
    wrong = []
    for template, name in parameters:
        path = template.format(**ids)
        for kind, value in BAD_VALUES.items():
            response = client.get(f"{path}?{name}={value}")
            wrong.append(_assert_refused(response, f"GET {path}?{name}=", name, kind))
            # A good parameter before the bad one does not hide it.
            response = client.get(f"{path}?limit=10&{name}={value}")
            wrong.append(_assert_refused(response, f"GET {path}?limit=10&{name}=", name, kind))
    assert [w for w in wrong if w] == []
    assert snapshot_diff(before, db_snapshot()) == []


def test_every_path_parameter_of_every_route_refuses_them_on_every_method(seeded_a: Seeded) -> None:
    with_params = [r for r in routes(ALL_PREFIXES) if r.params]
    patterns = {r.pattern for r in with_params}
    assert {"api/messages/<str:message_id>", "hooks/bluebubbles/<str:line_id>",
            "uploads/<str:workspace_id>/<str:token>/<str:filename>"} <= patterns, patterns
    client = client_with(seeded_a.auth)
    ids = _ids(seeded_a)
    before = db_snapshot()
    wrong, checked = [], 0
    for route in with_params:
        for name in route.params:
            for kind, value in BAD_VALUES.items():
                path = route.path(**{**ids, name: value})
                for method in route.methods:
                    checked += 1
                    body = {} if method in ("POST", "PUT", "PATCH") else None
                    response = call(client, method, path, body)
                    wrong.append(_assert_refused(response, f"{method} {path[:80]}", name, kind))
    assert [w for w in wrong if w] == []
    assert checked >= 80
    assert snapshot_diff(before, db_snapshot()) == []


def test_the_hook_secret_is_named_never_shown(seeded_a: Seeded, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    line = seeded_a.line
    before = db_snapshot()
    for path in (f"/hooks/bluebubbles/{line.pk}", f"/hooks/email/{line.pk}"):
        response = Client().post(f"{path}?secret={line.webhook_secret}%00", "{}", content_type="application/json")
        assert response.status_code == 400, response.content
        assert response.json() == {"error": "Query parameter 'secret' contains a NUL character",
                                   "code": "INVALID_PARAMETER"}
    response = Client().post(f"/hooks/twilio/status?ws={seeded_a.workspace.pk}%ED%A0%80", {"MessageSid": "SM1"})
    assert response.json() == {"error": "Query parameter 'ws' is not valid UTF-8", "code": "INVALID_PARAMETER"}
    logged = caplog.text + "".join(str(r.msg) for r in caplog.records)
    assert "request.invalid_parameter" in logged
    assert line.webhook_secret not in logged
    assert snapshot_diff(before, db_snapshot()) == []


def test_a_valid_hook_call_still_answers_as_before(seeded_a: Seeded) -> None:
    line = seeded_a.line
    response = Client().post(f"/hooks/bluebubbles/{line.pk}?secret={line.webhook_secret}",
                             {"type": "typing-indicator", "data": {}}, content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["ok"] is True


@pytest.mark.parametrize("value", [
    "%EF%BF%BD",  # a real U+FFFD is text like any other
    "caf%C3%A9+%F0%9F%98%80",  # accents and emoji
    "%0A%09",  # other control characters are valid text; only NUL cannot be stored
])
def test_unusual_but_valid_text_passes_the_guard(seeded_a: Seeded, value: str) -> None:
    response = client_with(seeded_a.auth).get(f"/api/leads?search={value}")
    assert response.status_code == 200, response.content[:200]


def test_a_value_at_the_cap_is_left_to_the_filter(seeded_a: Seeded) -> None:
    response = client_with(seeded_a.auth).get(f"/api/leads?search={'a' * MAX_PARAMETER_LENGTH}")
    # The search's own, tighter limit answers, not the guard.
    assert response.json() == {"error": "search must be at most 200 characters", "code": "VALIDATION_ERROR"}


def test_behind_gunicorn_a_literal_percent_in_a_path_is_not_mistaken_for_broken_utf8(seeded_a: Seeded) -> None:
    # gunicorn passes the request target (RAW_URI), so an upload named "100%CA.png", linked as 100%25CA.png,
    # is served; only a path that really is not UTF-8 is refused.
    upload = upload_create(workspace_id=seeded_a.workspace.pk, file_name="100%CA.png", content=PNG)
    assert upload.url.endswith("/100%25CA.png")
    path = f"/uploads/{upload.workspace_id}/{upload.token}/"
    response = Client().get(path + "100%25CA.png", RAW_URI=path + "100%25CA.png")
    assert response.status_code == 200
    response.close()
    refused = Client().get(path + "100%CA.png", RAW_URI=path + "100%CA.png")
    assert refused.json() == {"error": "Path parameter 'filename' is not valid UTF-8", "code": "INVALID_PARAMETER"}


def test_a_broken_parameter_name_is_refused_without_echoing_it(seeded_a: Seeded) -> None:
    response = client_with(seeded_a.auth).get("/api/leads?se%00arch=x")
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_PARAMETER"
    assert "\x00" not in response.json()["error"]


def test_the_refusal_comes_before_authentication(db: Any) -> None:
    # The guard is the first thing that reads the parameters: even an unauthenticated call gets the 400, not a 401
    # (no database query runs for it).
    response = Client().get("/api/messages?recipient=%00")
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_PARAMETER"


def test_every_operation_with_parameters_documents_the_400(db: Any) -> None:
    schema = Client().get("/api/schema", HTTP_ACCEPT="application/json").json()
    undocumented = [f"{method.upper()} {path}" for path, operations in schema["paths"].items()
                    for method, operation in operations.items()
                    if any(p["in"] in ("query", "path") for p in operation.get("parameters", []))
                    and "400" not in operation["responses"]]
    assert undocumented == []
    assert schema["paths"]["/api/messages/{message_id}"]["get"]["responses"]["400"]["content"][
        "application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
