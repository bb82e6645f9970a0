"""messaging.services.create_sql: the one-statement write of POST /api/messages keeps the rules of the
Python services it replaces on the hot path (leads.services.lead_resolve_for_send, the thread's sticky line,
the duplicate claim), including under concurrency.

The parity tests seed the same leads in two workspaces, resolve the send with the Python rule in one and
send through the API (the SQL) in the other, and compare which lead was chosen and what it holds after."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from leads.models import Lead
from leads.services import LeadContact, lead_resolve_for_send
from messaging.dedup import fingerprint
from messaging.models import DedupGuard, Message, MessageEvent, Thread
from messaging.send_input import parse_send_request
from tests.conftest import client_for
from tests.factories import LeadFactory, LineFactory, WorkspaceFactory
from tuco.services import api_key_create

COMPARED = ("first_name", "last_name", "phone", "email", "alt_phone1", "alt_phone2", "alt_email1",
            "ghl_contact_id", "hs_contact_id")

# name → (first, last, phone, email, age in days): the leads each scenario starts from.
SEED = {
    "by_phone": ("Ada", "", "+12025550101", "", 1),
    "by_email": ("", "", "+12025550102", "ada@example.com", 3),  # older, so it would win a plain "oldest"
    "unnamed": ("", "", "+12025550103", "", 2),
}

SCENARIOS = {
    "new recipient": {"recipientPhone": "+12025550199", "recipientName": "Bo Peep", "altPhone1": "+14155550001"},
    "phone beats an older email match": {"recipientPhone": "+12025550101", "recipientEmail": "ada@example.com"},
    "email alone": {"recipientEmail": "ADA@example.com"},
    "fill in empty email and name, keep the rest": {"recipientPhone": "+12025550103",
                                                    "recipientEmail": "new@example.com",
                                                    "recipientName": "Cy Young"},
    "a named lead keeps its name": {"recipientPhone": "+12025550101", "recipientName": "Someone Else"},
    "alternates and CRM links overwrite": {"recipientPhone": "+12025550101", "altPhone2": "+14155550002",
                                           "altEmail1": "alt@example.com", "ghlContactId": "ghl-1",
                                           "hsContactId": "hs-1"},
    "nothing to merge": {"recipientPhone": "+12025550102"},
}


def _seed(workspace: Any) -> dict[str, Lead]:
    leads = {}
    for name, (first, last, phone, email, age) in SEED.items():
        lead = LeadFactory(workspace=workspace, first_name=first, last_name=last, phone=phone, email=email)
        Lead.objects.filter(pk=lead.pk).update(created_at=timezone.now() - timedelta(days=age))
        leads[name] = lead
    return leads


def _label(leads: dict[str, Lead], lead_id: str) -> str:
    return next((name for name, lead in leads.items() if lead.pk == lead_id), "new")


def _snapshot(lead_id: str) -> tuple[Any, ...]:
    return tuple(Lead.objects.filter(pk=lead_id).values_list(*COMPARED).get())


def _python_rule(workspace: Any, body: dict[str, Any]) -> tuple[str, bool]:
    request = parse_send_request(body)
    lead, existed = lead_resolve_for_send(
        workspace=workspace, lead_id=request.lead_id,
        contact=LeadContact(phone=request.recipient_phone, email=request.recipient_email, name=request.recipient_name,
                            alt_phones=request.alt_phones, alt_emails=request.alt_emails, crm=request.crm))
    return lead.pk, existed


@pytest.mark.django_db
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_statement_resolves_and_merges_the_lead_as_the_python_rule(scenario: str) -> None:
    body = {"message": "hi", **SCENARIOS[scenario]}
    ruled, sent = WorkspaceFactory(), WorkspaceFactory()
    ruled_leads, sent_leads = _seed(ruled), _seed(sent)
    LineFactory(workspace=sent)
    _, raw = api_key_create(workspace=sent)

    expected_id, expected_existed = _python_rule(ruled, body)
    response = client_for(raw).post("/api/messages", body, format="json")

    assert response.status_code == 201, response.content
    got_id = response.json()["leadId"]
    assert _label(sent_leads, got_id) == _label(ruled_leads, expected_id)
    assert _snapshot(got_id) == _snapshot(expected_id)
    assert Lead.objects.filter(workspace=sent).count() == Lead.objects.filter(workspace=ruled).count()
    assert Message.objects.get(pk=response.json()["message"]["_id"]).lead_id == got_id
    # The response's lead flag ("existing lead" vs a new Quick Sends one) follows the rule too.
    assert (_label(sent_leads, got_id) != "new") == expected_existed


@pytest.mark.django_db
def test_lead_id_overwrites_only_what_the_send_states(api, line, workspace) -> None:
    lead = LeadFactory(workspace=workspace, first_name="Ada", phone="+12025550111", email="", alt_phone1="+1415")
    response = api.post("/api/messages", {"message": "hi", "leadId": lead.pk, "recipientEmail": "x@example.com",
                                          "recipientName": "Not Ada", "altPhone1": "+14155550009",
                                          "hsPortalId": "p-1"}, format="json")
    assert response.status_code == 201, response.content
    lead.refresh_from_db()
    assert (lead.first_name, lead.email) == ("Ada", "")  # a leadId send does not fill in or rename
    assert (lead.alt_phone1, lead.hs_portal_id) == ("+14155550009", "p-1")
    message = Message.objects.get(pk=response.json()["message"]["_id"])
    assert message.hs_portal_id == "p-1"  # CRM links are copied from the merged lead


@pytest.mark.django_db
def test_the_row_thread_event_and_line_columns_are_written_together(api, line, workspace) -> None:
    response = api.post("/api/messages", {"message": "hello", "recipientPhone": "+12025550123"}, format="json")
    message = Message.objects.get(pk=response.json()["message"]["_id"])
    thread = Thread.objects.get(pk=message.thread_id)
    assert (thread.address, thread.line_id, thread.lead_id) == ("+12025550123", line.pk, message.lead_id)
    assert thread.last_message_preview == "hello" and thread.last_direction == "outbound"
    assert (message.line_id, message.from_line_phone) == (line.pk, line.phone)
    assert list(MessageEvent.objects.filter(message=message).values_list("from_status", "to_status", "reason")) \
        == [("", "pending", "created")]
    guard = DedupGuard.objects.get(workspace=workspace)
    assert guard.message_id == message.pk and guard.expires_at > message.created_at


@pytest.mark.django_db
def test_the_sticky_line_stays_while_it_may_send_and_moves_when_it_may_not(api, workspace, line) -> None:
    other = LineFactory(workspace=workspace)
    first = api.post("/api/messages", {"message": "1", "recipientPhone": "+12025550130"}, format="json").json()
    sticky = first["message"]["fromLineId"]
    for n in range(3):
        again = api.post("/api/messages", {"message": f"again {n}", "recipientPhone": "+12025550130"},
                         format="json").json()
        assert again["message"]["fromLineId"] == sticky
    leaving = _line_with_id(sticky, line, other)
    leaving.is_active = False
    leaving.save()
    moved = api.post("/api/messages", {"message": "moved", "recipientPhone": "+12025550130"}, format="json").json()
    assert moved["message"]["fromLineId"] != sticky
    assert Thread.objects.get(address="+12025550130").line_id == moved["message"]["fromLineId"]


def _line_with_id(line_id: str, *lines: Any) -> Any:
    return next(candidate for candidate in lines if candidate.pk == line_id)


@pytest.mark.django_db
def test_a_pinned_line_is_used_even_when_the_thread_sticks_elsewhere(api, workspace, line) -> None:
    other = LineFactory(workspace=workspace)
    api.post("/api/messages", {"message": "1", "recipientPhone": "+12025550140", "fromLineId": line.pk},
             format="json")
    pinned = api.post("/api/messages", {"message": "2", "recipientPhone": "+12025550140", "fromLineId": other.pk},
                      format="json").json()
    assert pinned["message"]["fromLineId"] == other.pk
    assert Thread.objects.get(address="+12025550140").line_id == line.pk  # a pin does not move the thread


@pytest.mark.django_db
def test_a_claim_naming_a_deleted_message_is_claimed_again(api, line, workspace) -> None:
    body = {"message": "same", "recipientPhone": "+12025550150"}
    first = api.post("/api/messages", body, format="json").json()["message"]["_id"]
    Message.objects.filter(pk=first).delete()
    assert DedupGuard.objects.get(workspace=workspace).message_id == first  # the guard outlives the row
    again = api.post("/api/messages", body, format="json")
    assert again.status_code == 201, again.content
    assert DedupGuard.objects.get(workspace=workspace).message_id == again.json()["message"]["_id"] != first


@pytest.mark.django_db
def test_an_expired_claim_is_taken_over_in_the_same_statement(api, line, workspace) -> None:
    body = {"message": "same", "recipientPhone": "+12025550160"}
    first = api.post("/api/messages", body, format="json").json()["message"]["_id"]
    DedupGuard.objects.filter(workspace=workspace).update(expires_at=timezone.now() - timedelta(seconds=1))
    again = api.post("/api/messages", body, format="json")
    assert again.status_code == 201 and again.json()["message"]["_id"] != first
    assert DedupGuard.objects.filter(workspace=workspace).count() == 1


def _run_threads(count: int, work: Any) -> list[Any]:
    barrier, lock, results = threading.Barrier(count), threading.Lock(), []

    def run(n: int) -> None:
        try:
            barrier.wait()
            result = work(n)
            with lock:
                results.append(result)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.django_db(transaction=True)
def test_concurrent_different_sends_to_one_new_recipient_make_one_lead_and_one_thread() -> None:
    workspace = WorkspaceFactory()
    LineFactory(workspace=workspace)
    _, raw = api_key_create(workspace=workspace)

    def send(n: int) -> tuple[int, str]:
        response = client_for(raw).post("/api/messages", {"message": f"body {n}", "recipientPhone": "+12025550170",
                                                          "recipientName": "Ada Lovelace"}, format="json")
        return response.status_code, response.json().get("leadId", "")

    results = _run_threads(10, send)
    assert sorted(code for code, _ in results) == [201] * 10
    assert Lead.objects.filter(workspace=workspace).count() == 1
    assert {lead_id for _, lead_id in results} == {Lead.objects.get(workspace=workspace).pk}
    assert Thread.objects.filter(workspace=workspace).count() == 1
    assert Message.objects.filter(workspace=workspace).count() == 10
    assert MessageEvent.objects.filter(message__workspace=workspace, reason="created").count() == 10
    # Retried writes gave their claims back: exactly one claim per message.
    assert sorted(DedupGuard.objects.filter(workspace=workspace).values_list("message_id", flat=True)) \
        == sorted(Message.objects.filter(workspace=workspace).values_list("pk", flat=True))


@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_sends_to_a_new_recipient_make_one_message() -> None:
    workspace = WorkspaceFactory()
    LineFactory(workspace=workspace)
    _, raw = api_key_create(workspace=workspace)
    body = {"message": "same", "recipientPhone": "+12025550180"}

    def send(_: int) -> tuple[int, str]:
        response = client_for(raw).post("/api/messages", body, format="json")
        return response.status_code, response.json()["message"]["_id"]

    results = _run_threads(10, send)
    assert sorted(code for code, _ in results) == [200] * 9 + [201]
    assert Message.objects.filter(workspace=workspace).count() == 1
    assert {message_id for _, message_id in results} == {Message.objects.get(workspace=workspace).pk}
    assert Lead.objects.filter(workspace=workspace).count() == 1
    key = fingerprint(phone="+12025550180", email="", body="same", attachment_urls=[])
    assert DedupGuard.objects.filter(workspace=workspace, fingerprint=key).count() == 1



def _prepared_send_statements() -> dict[str, int]:
    """This session's prepared statements that are the send's statement: name → times executed (prepared
    statements live as long as the connection, so the tests compare before and after)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, generic_plans + custom_plans FROM pg_prepared_statements "
                       "WHERE statement LIKE 'WITH claim AS (INSERT INTO %%'")
        return dict(cursor.fetchall())


def _send_four(api: Any, **body: str) -> None:
    for n in range(4):
        response = api.post("/api/messages", {"message": f"hello {n}", "recipientPhone": f"+1202555013{n}", **body},
                            format="json")
        assert response.status_code == 201, response.content


@pytest.mark.django_db
def test_the_statement_is_prepared_once_per_connection_and_reused(api, line) -> None:
    before = _prepared_send_statements()
    _send_four(api)
    after = _prepared_send_statements()
    # The four sends (one shape) ran one prepared statement four more times; at most one was newly prepared.
    assert sum(after.values()) - sum(before.values()) == 4
    assert len(after) - len(before) <= 1


@pytest.mark.django_db
def test_with_prepared_statements_off_nothing_is_prepared(api, line, settings) -> None:
    settings.DB_PREPARED_STATEMENTS = False
    before = _prepared_send_statements()
    _send_four(api, recipientName="Cy Young")
    assert _prepared_send_statements() == before
    assert Message.objects.filter(recipient_phone="+12025550133").exists()
