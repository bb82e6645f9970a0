"""Auth (reference §1), envelopes and Koa's 404/405 (§2), ping and server info (§8)."""

from __future__ import annotations

from .conftest import PASSWORD, Client

MISSING = {
    "status": 401,
    "message": "You are not authorized to access this resource",
    "error": {"type": "Authentication Error", "message": "Missing server password!"},
}
WRONG = {
    "status": 401,
    "message": "You are not authorized to access this resource",
    "error": {"type": "Authentication Error", "message": "Unauthorized"},
}


def test_missing_password_gives_exact_401_body(client: Client) -> None:
    resp = client.api("GET", "/ping", auth=False)
    assert resp.status_code == 401
    assert resp.json() == MISSING


def test_empty_password_counts_as_missing(client: Client) -> None:
    resp = client.api("GET", "/ping", params={"password": ""})
    assert resp.json() == MISSING


def test_wrong_password_gives_unauthorized(client: Client) -> None:
    resp = client.api("GET", "/ping", params={"password": "nope"})
    assert resp.status_code == 401
    assert resp.json() == WRONG


def test_guid_and_token_params_and_trimming(client: Client) -> None:
    assert client.api("GET", "/ping", auth=False, params={"guid": PASSWORD}).status_code == 200
    assert client.api("GET", "/ping", auth=False, params={"token": f" {PASSWORD} "}).status_code == 200
    # `guid ?? password ?? token`: a wrong guid wins over a right password.
    both = client.api("GET", "/ping", auth=False, params={"guid": "bad", "password": PASSWORD})
    assert both.status_code == 401


def test_headers_are_not_read(client: Client) -> None:
    resp = client.api("GET", "/ping", auth=False, headers={"Authorization": f"Bearer {PASSWORD}"})
    assert resp.json() == MISSING


def test_auth_runs_before_validation(client: Client) -> None:
    resp = client.api("POST", "/message/text", auth=False, json={})
    assert resp.status_code == 401


def test_every_api_route_needs_auth(client: Client) -> None:
    for method, path in [
        ("GET", "/server/info"),
        ("POST", "/message/query"),
        ("GET", "/message/X"),
        ("GET", "/handle/availability/imessage"),
        ("GET", "/webhook"),
    ]:
        assert client.api(method, path, auth=False).status_code == 401, path


def test_ping_envelope(client: Client) -> None:
    resp = client.api("GET", "/ping")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("application/json")
    assert resp.json() == {"status": 200, "message": "Ping received!", "data": "pong"}


def test_server_info_shape_follows_private_api_flag(make_client) -> None:
    on = make_client().api("GET", "/server/info").json()
    assert on["status"] == 200 and on["message"] == "Success"
    assert on["data"]["private_api"] is True and on["data"]["helper_connected"] is True
    assert on["data"]["server_version"] == "1.9.9"
    for key in ("computer_id", "os_version", "proxy_service", "detected_imessage", "local_ipv4s"):
        assert key in on["data"]
    off = make_client(private_api=False).api("GET", "/server/info").json()["data"]
    assert off["private_api"] is False and off["helper_connected"] is False


def test_unknown_path_is_koa_plain_404(client: Client) -> None:
    resp = client.api("GET", "/does/not/exist")
    assert resp.status_code == 404
    assert resp.headers["Content-Type"].startswith("text/plain")
    assert resp.text == "Not Found"
    assert client.session.get(client.base + "/").text == "Not Found"


def test_wrong_method_is_405(client: Client) -> None:
    resp = client.api("DELETE", "/ping")
    assert resp.status_code == 405
    assert "GET" in resp.headers["Allow"]


def test_auth_failure_fault_401s_everything_until_reset(client: Client) -> None:
    client.fault("auth-failure")
    for _ in range(3):  # not consumed: it is a switch, not a counter
        resp = client.api("GET", "/ping")
        assert resp.status_code == 401 and resp.json() == WRONG
    assert client.sim("GET", "/health").status_code == 200  # the control API stays open
    client.sim("POST", "/reset")
    assert client.api("GET", "/ping").status_code == 200


def test_pretty_flag_indents(client: Client) -> None:
    resp = client.api("GET", "/ping", params={"password": PASSWORD, "pretty": ""})
    assert "\n" in resp.text and resp.json()["data"] == "pong"


def test_health_needs_no_auth_and_hides_password(client: Client) -> None:
    body = client.sim("GET", "/health").json()
    assert body["status"] == "ok"
    assert "password" not in body["config"]
