"""The atomic duplicate guard: identical sends within 15 minutes collapse onto the first."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from leads.models import Lead
from messaging.models import Message, Status
from tests.conftest import client_for
from tests.factories import LineFactory, WorkspaceFactory
from tuco.services import api_key_create

BODY = {"message": "Same text", "recipientPhone": "+12025551234"}


@pytest.mark.django_db
def test_second_identical_post_returns_the_original(api, line) -> None:
    with time_machine.travel("2026-05-17T10:00:00Z", tick=False):
        first = api.post("/api/messages", BODY, format="json")
    with time_machine.travel("2026-05-17T10:00:42Z", tick=False):
        second = api.post("/api/messages", BODY, format="json")
    assert first.status_code == 201 and second.status_code == 200
    body = second.json()
    assert body["success"] is True and body["duplicateOnly"] is True
    assert body["duplicateMessage"] == ("Same message text already sent to this contact 42s ago — "
                                        "returning existing message instead of sending again")
    assert body["message"]["_id"] == first.json()["message"]["_id"]
    assert body["leadId"] == first.json()["leadId"]
    assert Message.objects.count() == 1


@pytest.mark.django_db
def test_what_makes_a_send_different(api, line, workspace) -> None:
    ids = {api.post("/api/messages", b, format="json").json()["message"]["_id"] for b in (
        BODY,
        {**BODY, "message": "Same text!"},  # one character differs
        {**BODY, "recipientPhone": "+12025559999"},  # another recipient
        {**BODY, "recipientEmail": "a@b.co"},  # phone + email is another recipient key
        {**BODY, "attachmentUrls": ["https://cdn.test/a.png"]},
    )}
    assert len(ids) == 5
    other_ws = WorkspaceFactory()
    LineFactory(workspace=other_ws)
    _, raw = api_key_create(workspace=other_ws)
    assert client_for(raw).post("/api/messages", BODY, format="json").status_code == 201


@pytest.mark.django_db
def test_window_expires_after_15_minutes(api, line) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        first = api.post("/api/messages", BODY, format="json").json()["message"]["_id"]
    with time_machine.travel(start + timedelta(minutes=14, seconds=59), tick=False):
        assert api.post("/api/messages", BODY, format="json").status_code == 200
    with time_machine.travel(start + timedelta(minutes=15, seconds=1), tick=False):
        later = api.post("/api/messages", BODY, format="json")
    assert later.status_code == 201 and later.json()["message"]["_id"] != first
    assert Message.objects.count() == 2


@pytest.mark.django_db
def test_a_failed_original_is_returned_too(api, line) -> None:
    first = api.post("/api/messages", BODY, format="json").json()["message"]["_id"]
    Message.objects.filter(pk=first).update(status=Status.FAILED, error="relay down")
    again = api.post("/api/messages", BODY, format="json")
    assert again.status_code == 200
    assert again.json()["message"]["_id"] == first and again.json()["message"]["status"] == "failed"


@pytest.mark.django_db
def test_lead_only_sends_dedup_on_the_lead(api, line, workspace) -> None:
    from tests.factories import LeadFactory

    lead = LeadFactory(workspace=workspace)
    a = api.post("/api/messages", {"message": "x", "leadId": lead.pk}, format="json")
    b = api.post("/api/messages", {"message": "x", "leadId": lead.pk}, format="json")
    assert (a.status_code, b.status_code) == (201, 200)


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_identical_posts_create_exactly_one_message() -> None:
    workspace = WorkspaceFactory()
    LineFactory(workspace=workspace)
    _, raw = api_key_create(workspace=workspace)
    barrier = threading.Barrier(20)
    results: list[tuple[int, str]] = []
    lock = threading.Lock()

    def post() -> None:
        try:
            client = client_for(raw)
            barrier.wait()
            response = client.post("/api/messages", BODY, format="json")
            with lock:
                results.append((response.status_code, response.json()["message"]["_id"]))
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 20
    assert Message.objects.count() == 1
    only = Message.objects.get().pk
    assert {message_id for _, message_id in results} == {only}
    assert sorted(code for code, _ in results) == [200] * 19 + [201]
    assert Lead.objects.count() == 1


@pytest.mark.django_db
def test_the_key_is_the_resolved_address_so_lead_id_and_phone_are_one_send(api, line, workspace) -> None:
    """Spec key: (workspace, recipientPhone, recipientEmail, message). A send by leadId resolves to the lead's
    phone and email, so the same text by the lead's phone (and email) within 15 minutes is the same send."""
    from tests.factories import LeadFactory

    lead = LeadFactory(workspace=workspace, phone="+12025550777", email="ada@example.com")
    by_lead = api.post("/api/messages", {"message": "hello", "leadId": lead.pk}, format="json")
    by_phone = api.post("/api/messages", {"message": "hello", "recipientPhone": "+12025550777",
                                          "recipientEmail": "ada@example.com"}, format="json")
    assert (by_lead.status_code, by_phone.status_code) == (201, 200)
    assert by_phone.json()["duplicateOnly"] is True
    assert by_phone.json()["message"]["_id"] == by_lead.json()["message"]["_id"]
    assert Message.objects.count() == 1
