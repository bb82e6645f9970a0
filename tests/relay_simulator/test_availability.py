"""GET /handle/availability/{imessage,facetime} (reference §5) and the handles registry."""

from __future__ import annotations

from .conftest import PASSWORD, PHONE, Client

GATE = {
    "status": 500,
    "message": "Please make sure you have completed the setup for the Private API, and your helper is connected!",
    "error": {"type": "iMessage Error", "message": "iMessage Private API is not enabled!"},
}


def check(client: Client, address: str, service: str = "imessage"):
    return client.api("GET", f"/handle/availability/{service}", params={"password": PASSWORD, "address": address})


def test_unknown_addresses_are_available(client: Client) -> None:
    resp = check(client, PHONE)
    assert resp.status_code == 200
    assert resp.json() == {"status": 200, "message": "Success", "data": {"available": True}}


def test_registered_handles_drive_the_answer(client: Client) -> None:
    client.sim("POST", "/handles", json={"address": PHONE, "imessage": False})
    client.sim("POST", "/handles", json={"address": "Friend@Example.com", "imessage": True})
    assert check(client, PHONE).json()["data"] == {"available": False}
    assert check(client, "friend@example.com").json()["data"] == {"available": True}
    assert check(client, "FRIEND@example.com").json()["data"] == {"available": True}
    assert check(client, "5551234567").json()["data"] == {"available": False}  # normalised to E.164
    listed = client.sim("GET", "/handles").json()["data"]
    assert {"address": PHONE, "imessage": False, "facetime": False} in listed


def test_raw_plus_in_query_still_matches(client: Client) -> None:
    client.sim("POST", "/handles", json={"address": PHONE, "imessage": False})
    # A client that forgets to URL-encode `+` sends a space; the server re-adds the country code.
    raw = client.session.get(
        f"{client.base}/api/v1/handle/availability/imessage?password={PASSWORD}&address=+15551234567"
    )
    assert raw.json()["data"] == {"available": False}


def test_facetime_variant_and_flag(client: Client) -> None:
    client.sim("POST", "/handles", json={"address": PHONE, "imessage": True, "facetime": False})
    assert check(client, PHONE, "facetime").json()["data"] == {"available": False}
    assert check(client, PHONE, "imessage").json()["data"] == {"available": True}


def test_missing_address_is_400(client: Client) -> None:
    resp = client.api("GET", "/handle/availability/imessage")
    assert resp.status_code == 400
    assert resp.json()["error"] == {"type": "Validation Error", "message": "The address field is required."}
    assert check(client, "").status_code == 400


def test_private_api_gate_without_private_api(make_client) -> None:
    client = make_client(private_api=False)
    resp = check(client, PHONE)
    assert resp.status_code == 500 and resp.json() == GATE
    # The gate runs before validation: no address still gets the gate body.
    assert client.api("GET", "/handle/availability/imessage").json() == GATE
    facetime = check(client, PHONE, "facetime")
    assert facetime.status_code == 500
    assert facetime.json() == {
        "status": 500,
        "message": "An unhandled error has occurred!",
        "error": {"type": "Server Error", "message": "iMessage Private API is not enabled!"},
    }


def test_availability_checks_are_logged(client: Client) -> None:
    check(client, PHONE)
    check(client, "a@b.co", "facetime")
    log = client.sim("GET", "/availability").json()["data"]
    assert [(e["address"], e["service"]) for e in log] == [(PHONE, "imessage"), ("a@b.co", "facetime")]
    assert all(isinstance(e["at"], int) for e in log)


def test_bad_handle_requests_are_400(client: Client) -> None:
    assert client.sim("POST", "/handles", json={"imessage": True}).status_code == 400
    assert client.sim("POST", "/handles", json={"address": PHONE, "imessage": "no"}).status_code == 400
    assert client.sim("POST", "/handles", data=b"{bad").status_code == 400
