"""Workspace isolation, by walking the URL conf: workspace B can neither see nor touch workspace A's rows.

- Every route under /api/ and /hooks/ with a path parameter is called with A's ids and
  B's credentials, on every method it implements: 404, never 200/403/500, and the whole
  database is unchanged afterwards. A route whose parameter the test cannot fill fails
  the test, so a new endpoint cannot slip in unscoped.
- Every list/search route (GET without a path parameter) answers B without any of A's
  ids, also when B filters by A's ids.
- Ids of A inside bodies and query strings (send with A's lead or line, reply on A's thread
  or message, delete A's leads, import into A's list, check A's leads, replay A's event from
  B's webhook, send A's upload) are refused or ignored, and change nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from lines.models import Line
from messaging.models import Message
from tests.hardening.conftest import call, client_with
from tests.hardening.routes import Route, routes
from tests.hardening.seed import Seeded, db_snapshot, snapshot_diff

# How to name an existing row of a workspace, per path parameter.
ID_VALUES: dict[str, Callable[[Seeded], str]] = {
    "message_id": lambda s: s.message.pk,
    "lead_id": lambda s: s.lead.pk,
    "entry_id": lambda s: s.dnc.pk,
    "webhook_id": lambda s: s.webhook.pk,
    "event_id": lambda s: s.event.event_id,
    "line_id": lambda s: s.line.pk,
    "campaign_id": lambda s: s.campaign.pk,
}


def _relay_event(text: str) -> dict[str, Any]:
    return {"type": "new-message", "data": {"guid": "p:0/4F8B1C2E-pwned", "text": text, "isFromMe": False,
                                            "handle": {"address": "+12025550999"}, "dateCreated": 1700000000000}}


# Bodies that would change something if the route forgot to scope by workspace (default: none).
WRITE_BODIES: dict[tuple[str, str], Any] = {
    ("api/leads/<leadref:lead_id>", "PATCH"): {"firstName": "pwned", "notes": "pwned"},
    ("api/webhooks/<str:webhook_id>", "PATCH"): {"name": "pwned", "isActive": False, "url": "https://pwned.example"},
    ("hooks/bluebubbles/<str:line_id>", "POST"): _relay_event("pwned"),
    ("hooks/email/<str:line_id>", "POST"): ("From: pwned@example.com\r\nMessage-ID: <pwned@example.com>\r\n"
                                            "Subject: Re: hi\r\n\r\npwned\r\n"),
}


def _hook_line(seeded: Seeded, route: Route) -> Line:
    """The line a /hooks/ route is called for: its email line on the email hook, else its phone line."""
    return seeded.email_line if route.pattern.startswith("hooks/email/") else seeded.line


def _values(seeded: Seeded, route: Route) -> dict[str, str]:
    values = {name: ID_VALUES[name](seeded) for name in route.params}
    if "line_id" in values:
        values["line_id"] = _hook_line(seeded, route).pk
    return values


def _request(seeded_as: Seeded, route: Route, method: str, values: dict[str, str]) -> Any:
    """Call `route` with `values` in the path, as the workspace `seeded_as` (its API key; its line secret on hooks)."""
    path = route.path(**values)
    if route.pattern.startswith("hooks/"):
        path += "?" + urlencode({"secret": _hook_line(seeded_as, route).webhook_secret})
    body = WRITE_BODIES.get((route.pattern, method))
    return call(client_with(seeded_as.auth), method, path, body)


def _id_routes() -> list[Route]:
    return [r for r in routes() if r.params]


def test_every_route_with_an_id_is_covered() -> None:
    unknown = {f"{r} ({r.view})": sorted(set(r.params) - set(ID_VALUES)) for r in _id_routes()
               if set(r.params) - set(ID_VALUES)}
    assert not unknown, (
        f"Routes with path parameters this test cannot fill: {unknown}. Add a row of that kind to "
        "tests/hardening/seed.py and its id to ID_VALUES, so the route is checked for workspace scoping.")
    # The walk sees the routes this file was written against (a broken walk must not pass vacuously).
    patterns = {r.pattern for r in _id_routes()}
    assert {"api/messages/<str:message_id>", "api/leads/<leadref:lead_id>", "api/dnc/<str:entry_id>",
            "api/webhooks/<str:webhook_id>/events/<str:event_id>/replay",
            "hooks/bluebubbles/<str:line_id>", "hooks/email/<str:line_id>"} <= patterns


def test_another_workspaces_ids_are_404_on_every_method_and_change_nothing(seeded_a: Seeded,
                                                                            seeded_b: Seeded) -> None:
    before = db_snapshot()
    wrong = []
    checked = 0
    for route in _id_routes():
        for method in route.methods:
            response = _request(seeded_b, route, method, _values(seeded_a, route))
            checked += 1
            body = response.content.decode(errors="replace")
            if response.status_code != 404 or "error" not in json.loads(body or "{}"):
                wrong.append(f"{method} {route}: {response.status_code} {body[:200]}")
    assert not wrong, "Workspace B reached workspace A's rows:\n" + "\n".join(wrong)
    assert checked >= 14
    changes = snapshot_diff(before, db_snapshot())
    assert not changes, f"B's refused requests changed rows: {changes}"


def test_the_ids_used_are_real_for_their_own_workspace(seeded_a: Seeded) -> None:
    """The control for the test above: with A's own credentials the same ids are found (GET 200, actions not 404)."""
    for route in _id_routes():
        # Reads first; then the actions (cancel, replay, health check, relay event); deletes are left out.
        for method in sorted((m for m in route.methods if m != "DELETE"), key=lambda m: m != "GET"):
            response = _request(seeded_a, route, method, _values(seeded_a, route))
            assert response.status_code != 404, f"{method} {route}: {response.status_code} {response.content[:200]}"
            assert response.status_code < 500
            if method == "GET":
                assert response.status_code == 200, f"GET {route}: {response.status_code}"


def test_a_mix_of_own_and_foreign_ids_is_404(seeded_a: Seeded, seeded_b: Seeded) -> None:
    # B's own webhook, A's event: the event must be looked up under the webhook, not globally.
    before = db_snapshot()
    response = call(client_with(seeded_b.auth), "POST",
                    f"/api/webhooks/{seeded_b.webhook.pk}/events/{seeded_a.event.event_id}/replay")
    assert response.status_code == 404, response.content
    assert not snapshot_diff(before, db_snapshot())


# --- lists and searches ----------------------------------------------------------------------------------------


def _leaks(seeded: Seeded, text: str, sent: str = "") -> set[str]:
    return {value for value in (seeded.ids() | {seeded.marker}) if value in text and value != sent}


def _filters(a: Seeded) -> list[tuple[str, str]]:
    return [("leadId", a.lead.pk), ("lineId", a.line.pk), ("fromLineId", a.line.pk), ("id", a.lead.pk),
            ("listId", a.lead_list.pk), ("threadId", a.reply.thread_id or a.message.pk), ("search", a.marker),
            ("q", a.marker), ("recipient", a.lead.phone), ("recipientPhone", a.lead.phone),
            ("recipientEmail", a.lead.email), ("webhookId", a.webhook.pk), ("address", a.lead.phone),
            ("cursor", "ffffffffffffffffffffffff")]


def _text(response: Any) -> str:
    body = b"".join(response.streaming_content) if response.streaming else response.content  # exports stream
    return body.decode(errors="replace")


def test_lists_and_searches_never_show_another_workspaces_rows(seeded_a: Seeded, seeded_b: Seeded,
                                                               settings: Any) -> None:
    settings.TUCO_RATE_LIMITS_ENABLED = False  # ~15 filtered calls per list route
    b = client_with(seeded_b.auth)
    list_routes = [r for r in routes() if r.is_api and not r.params and not r.is_public and "GET" in r.methods]
    assert len(list_routes) >= 8
    leaked = []
    for route in list_routes:
        for name, value in [("", ""), *_filters(seeded_a)]:
            path = route.path() + (f"?{urlencode({name: value})}" if name else "")
            response = b.get(path)
            text = _text(response)
            if response.status_code >= 500 or _leaks(seeded_a, text, sent=value):
                leaked.append(f"GET {path}: {response.status_code} {sorted(_leaks(seeded_a, text, value))}")
    assert not leaked, "B's lists show A's rows:\n" + "\n".join(leaked)


def test_own_lists_do_show_own_rows(seeded_a: Seeded, seeded_b: Seeded) -> None:
    """The control for the test above: the rows it looks for are there for their owner."""
    a, s = client_with(seeded_a.auth), seeded_a
    expected = {"/api/messages": s.message.pk, "/api/leads": s.lead.pk, "/api/lists": s.lead_list.pk,
                "/api/dnc": s.dnc.pk, "/api/webhooks": s.webhook.pk, "/api/lines/by-user": s.line.pk,
                "/api/replies": s.reply.pk, "/api/messages/export": s.message.pk,
                "/api/messages/export?format=ndjson": s.message.pk}
    for path, wanted in expected.items():
        response = a.get(path)
        assert response.status_code == 200 and wanted in _text(response), path


def test_filters_naming_another_workspaces_rows(seeded_a: Seeded, seeded_b: Seeded) -> None:
    b = client_with(seeded_b.auth)
    assert b.get(f"/api/messages?leadId={seeded_a.lead.pk}").json()["messages"] == []
    assert b.get(f"/api/messages?fromLineId={seeded_a.line.pk}").json()["messages"] == []
    assert b.get(f"/api/leads?id={seeded_a.lead.pk}").status_code == 404
    assert b.get(f"/api/leads?search={seeded_a.marker}").json()["leads"] == []
    replies = b.get(f"/api/replies?leadId={seeded_a.lead.pk}")
    assert replies.status_code == 404 and replies.json()["error"].startswith("Lead not found")
    assert b.get(f"/api/replies?lineId={seeded_a.line.pk}").json()["replies"] == []
    assert b.get(f"/api/replies?recipientPhone={seeded_a.lead.phone}").json()["replies"] == []
    # A sees its own reply through the same filters.
    a = client_with(seeded_a.auth)
    assert [r["messageId"] for r in a.get(f"/api/replies?lineId={seeded_a.line.pk}").json()["replies"]] == [
        seeded_a.reply.pk]


# --- A's ids inside B's bodies and query strings ----------------------------------------------------------------


def test_another_workspaces_ids_in_bodies_and_queries_change_nothing(seeded_a: Seeded, seeded_b: Seeded) -> None:
    b = client_with(seeded_b.auth)
    a = seeded_a
    before = db_snapshot()
    refused: list[tuple[str, str, Any, int, str | None]] = [
        # (method, path, body, status, error text or None)
        ("POST", "/api/messages", {"message": "hi", "leadId": a.lead.pk}, 404, "Lead not found or access denied"),
        ("POST", "/api/messages", {"message": "hi", "recipientPhone": "+12025550142", "fromLineId": a.line.pk},
         404, None),
        ("POST", "/api/messages", {"message": "hi", "recipientPhone": "+12025550142",
                                   "attachmentUrls": [a.upload.url]}, 403,
         "Attachment URL does not belong to this organization"),
        ("POST", "/api/unibox/send-reply", {"message": "hi", "threadId": a.thread.pk}, 404, "Thread not found"),
        ("POST", "/api/unibox/send-reply", {"message": "hi", "messageId": a.reply.pk}, 404, "Message not found"),
        ("POST", "/api/unibox/send-reply", {"message": "hi", "messageId": a.message.pk}, 404, "Message not found"),
        ("POST", "/api/unibox/send-reply", {"message": "hi", "threadId": seeded_b.thread.pk,
                                            "attachmentUrls": [a.upload.url]}, 403,
         "Attachment URL does not belong to this organization"),
        ("POST", "/api/fallback-sms", {"message": "hi", "leadId": a.lead.pk}, 404, "Lead not found or access denied"),
        ("POST", "/api/fallback-sms", {"message": "hi", "recipientPhone": "+12025550146",
                                       "attachmentUrls": [a.upload.url]}, 403,
         "Attachment URL does not belong to this organization"),
        ("POST", "/api/leads", {"listId": a.lead_list.pk, "leads": [{"phone": "+12025550143"}]}, 404, None),
        ("PATCH", f"/api/leads/{seeded_b.lead.pk}", {"listId": a.lead_list.pk}, 404, None),
        ("DELETE", f"/api/dnc?id={a.dnc.pk}", None, 404, None),
        ("GET", f"/api/leads/check-availability?id={a.lead.pk}", None, 404, None),
        ("POST", "/api/leads/check-availability", {"leadIds": [a.lead.pk]}, 404, None),
        ("POST", "/api/leads/check-availability", {"listId": a.lead_list.pk}, 404, None),
    ]
    wrong = []
    for method, path, body, status, error in refused:
        response = call(b, method, path, body)
        text = response.content.decode(errors="replace")
        if response.status_code != status or (error and response.json().get("error") != error):
            wrong.append(f"{method} {path} {body}: {response.status_code} {text[:200]}")
    # Bulk delete ignores ids it does not own (documented): nothing deleted, nothing counted.
    response = call(b, "DELETE", "/api/leads", {"ids": [a.lead.pk]})
    if response.status_code != 200 or response.json() != {"deletedCount": 0}:
        wrong.append(f"DELETE /api/leads: {response.status_code} {response.content[:200]!r}")
    response = call(b, "DELETE", f"/api/leads?ids={a.lead.pk}")
    if response.status_code != 200 or response.json() != {"deletedCount": 0}:
        wrong.append(f"DELETE /api/leads?ids=: {response.status_code} {response.content[:200]!r}")
    assert not wrong, "\n".join(wrong)
    assert not snapshot_diff(before, db_snapshot())
    assert Message.objects.filter(workspace=seeded_b.workspace).count() == 2  # B's seeded rows only


def test_uploads_of_another_workspace_cannot_be_sent(seeded_a: Seeded, seeded_b: Seeded) -> None:
    # The control: A may send its own upload (B's refusal above is about ownership, not a broken URL).
    response = call(client_with(seeded_a.auth), "POST", "/api/messages",
                    {"message": "with file", "recipientPhone": "+12025550144", "attachmentUrls": [seeded_a.upload.url]})
    assert response.status_code == 201, response.content


def test_own_threads_can_be_replied_to(seeded_a: Seeded) -> None:
    # The control for the replies refused above: A reaches its own thread, by id and through its messages.
    a = client_with(seeded_a.auth)
    for n, target in enumerate(({"threadId": seeded_a.thread.pk}, {"messageId": seeded_a.reply.pk},
                                {"messageId": seeded_a.message.pk})):
        response = call(a, "POST", "/api/unibox/send-reply", {"message": f"own reply {n}", **target})
        assert response.status_code == 201, response.content
        assert response.json()["threadId"] == seeded_a.thread.pk


@pytest.mark.parametrize("hook", ["status", "inbound"])
def test_twilio_callbacks_for_another_workspace_signed_with_own_token_are_403(seeded_a: Seeded, seeded_b: Seeded,
                                                                              hook: str) -> None:
    params = {"MessageSid": "SM" + "ab" * 16, "MessageStatus": "delivered", "From": "+12025550145", "Body": "STOP"}
    url = f"http://testserver/hooks/twilio/{hook}?ws={seeded_a.workspace.pk}"
    before = db_snapshot()
    for token, status in ((seeded_b.fallback.twilio_auth_token, 403), (seeded_a.fallback.twilio_auth_token, 200)):
        signature = RequestValidator(token).compute_signature(url, params)
        response = client_with().post(url, params, HTTP_X_TWILIO_SIGNATURE=signature)
        assert response.status_code == status, (token[:4], response.content)
        if status == 403:
            assert not snapshot_diff(before, db_snapshot())
