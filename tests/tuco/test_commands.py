"""The operator contract's commands print one JSON object with --json."""

from __future__ import annotations

import json
from io import StringIO

import pytest
import responses
from django.core.management import CommandError, call_command

from lines.models import Device, Line
from tuco.models import ApiKey, Workspace
from tuco.services import hash_api_key

pytestmark = pytest.mark.django_db


def _json(*args: str) -> dict:
    out = StringIO()
    call_command(*args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_create_workspace_and_key() -> None:
    ws = _json("create_workspace", "Acme", "--billing-status", "past_due")
    assert Workspace.objects.get(pk=ws["id"]).billing_status == "past_due" and ws["name"] == "Acme"
    key = _json("create_api_key", "--workspace", ws["id"], "--name", "ci")
    assert key["key"].startswith("tuco_sk_")
    assert ApiKey.objects.get(pk=key["id"]).key_hash == hash_api_key(key["key"])
    with pytest.raises(CommandError):
        call_command("create_api_key", "--workspace", "nope")


@responses.activate
def test_add_line_shares_the_device_per_relay_url_and_registers_the_webhook() -> None:
    responses.post("http://relay.test:8765/api/v1/webhook",
                   json={"status": 200, "message": "Successfully created webhook!", "data": {"id": 1}})
    ws = _json("create_workspace", "Acme")["id"]
    first = _json("add_line", "--workspace", ws, "--phone", "+14155552671", "--relay-url", "http://relay.test:8765",
                  "--relay-password", "pw", "--private-api", "--daily-total", "10", "--daily-new", "5",
                  "--timezone", "America/New_York", "--device-gap-seconds", "20", "--contact-gap-seconds", "40")
    second = _json("add_line", "--workspace", ws, "--phone", "+14155552672", "--relay-url", "http://relay.test:8765",
                   "--relay-password", "pw", "--device-gap-seconds", "25")
    assert first["deviceId"] == second["deviceId"]
    assert first["webhookRegistered"] is True
    line = Line.objects.get(pk=first["id"])
    assert (line.daily_total_limit, line.daily_new_limit, line.timezone, line.contact_gap_seconds) == (
        10, 5, "America/New_York", 40)
    device = Device.objects.get(pk=first["deviceId"])
    assert device.private_api is True and device.device_gap_seconds == 25  # a later add_line updates the gap
    registered = json.loads(responses.calls[0].request.body)
    assert registered["url"].endswith(f"/hooks/bluebubbles/{line.pk}?secret={line.webhook_secret}")
    assert "password=pw" in responses.calls[0].request.url


@pytest.mark.parametrize("args", [
    ["--phone", "555", "--relay-url", "http://r.test", "--relay-password", "pw"],
    ["--phone", "+14155552671", "--relay-url", "ftp://r.test", "--relay-password", "pw"],
    ["--phone", "+14155552671", "--relay-url", "http://r.test", "--relay-password", ""],
    ["--phone", "+14155552671", "--relay-url", "http://r.test", "--relay-password", "pw", "--timezone", "X/Y"],
])
def test_add_line_rejects_bad_input_and_writes_nothing(args) -> None:
    ws = _json("create_workspace", "Acme")["id"]
    with pytest.raises(CommandError):
        call_command("add_line", "--workspace", ws, *args, "--no-register-webhook")
    assert Line.objects.count() == 0 and Device.objects.count() == 0


def test_create_operator_can_open_its_workspace_in_the_unibox(client) -> None:
    ws = _json("create_workspace", "Acme")["id"]
    other = _json("create_workspace", "Other")["id"]
    op = _json("create_operator", "--username", "ops", "--password", "pw-12345-abc", "--workspace", ws)
    assert op["workspaces"] == [ws] and op["created"] is True
    assert client.login(username="ops", password="pw-12345-abc")
    assert client.get("/admin/messaging/thread/unibox/").status_code == 200
    from messaging.models import Thread

    mine = Thread.objects.create(workspace_id=ws, address="+12025550001")
    theirs = Thread.objects.create(workspace_id=other, address="+12025550002")
    assert client.get(f"/admin/messaging/thread/unibox/{mine.pk}/").status_code == 200
    assert client.get(f"/admin/messaging/thread/unibox/{theirs.pk}/").status_code == 404
