"""GET /api/messages/export and the admin's export actions: the filtered, workspace-scoped messages streamed as
CSV or NDJSON, with delivery timestamps, attempts, the fallback outcome and campaign/step, in keyset batches."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from messaging import exports
from messaging.exports import COLUMNS, export_record, keyset_batches
from messaging.models import Message
from tests.conftest import client_for
from tests.factories import LeadFactory, LineFactory, MessageFactory, WorkspaceFactory
from tuco.services import api_key_create
from tuco.timefmt import iso

pytestmark = pytest.mark.django_db

URL = "/api/messages/export"


def _body(response: Any) -> str:
    assert response.streaming, "the export must stream"
    return b"".join(response.streaming_content).decode()


def _csv_rows(response: Any) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(_body(response))))


@pytest.fixture
def messages(workspace) -> dict[str, Message]:
    now = timezone.now()
    line = LineFactory(workspace=workspace, phone="+14155550100")
    lead = LeadFactory(workspace=workspace, first_name="Ada", phone="+12025550101")
    delivered = MessageFactory(workspace=workspace, line=line, lead=lead, status="delivered", body="Hi {{firstName}}",
                               rendered_body="Hi Ada", attempt_count=2, sent_at=now - timedelta(minutes=5),
                               delivered_at=now - timedelta(minutes=4), read_at=now - timedelta(minutes=3),
                               external_message_id="GUID-1", batch_id="b-1")
    fallback = MessageFactory(workspace=workspace, line=line, status="fallback", attempt_count=1,
                              fallback_reason="not on iMessage", fallback_sms_status="delivered",
                              fallback_provider="twilio", fallback_external_id="SM1",
                              fallback_sent_at=now - timedelta(minutes=2),
                              fallback_delivered_at=now - timedelta(minutes=1))
    failed = MessageFactory(workspace=workspace, line=line, status="failed", error="Relay refused",
                            error_code="RELAY_REJECTED", recipient_name="=HYPERLINK(\"https://evil\")",
                            recipient_phone="+12025550199")
    other = MessageFactory(workspace=WorkspaceFactory(), status="delivered", body="not yours")
    return {"delivered": delivered, "fallback": fallback, "failed": failed, "other": other}


def test_csv_export_has_every_column_newest_first_and_only_this_workspace(api, messages) -> None:
    response = api.get(URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="messages-')
    assert response["Content-Disposition"].endswith('.csv"')
    rows = _csv_rows(response)
    assert [r["_id"] for r in rows] == [messages[k].pk for k in ("failed", "fallback", "delivered")]
    assert set(COLUMNS) == set(rows[0]) and {"campaignId", "stepIndex"} <= set(rows[0])
    delivered = rows[2]
    m = messages["delivered"]
    assert (delivered["status"], delivered["attemptCount"], delivered["batchId"]) == ("delivered", "2", "b-1")
    assert delivered["message"] == "Hi {{firstName}}" and delivered["sentText"] == "Hi Ada"
    assert (delivered["sentAt"], delivered["deliveredAt"], delivered["readAt"]) == \
        (iso(m.sent_at), iso(m.delivered_at), iso(m.read_at))
    assert delivered["campaignId"] == "" and delivered["stepIndex"] == ""  # no campaign model yet
    fallback = rows[1]
    assert (fallback["reason"], fallback["fallbackSmsStatus"], fallback["fallbackProvider"]) == \
        ("not on iMessage", "delivered", "twilio")
    assert fallback["fallbackSentAt"] and fallback["fallbackDeliveredAt"]
    failed = rows[0]
    assert (failed["errorCode"], failed["error"]) == ("RELAY_REJECTED", "Relay refused")
    # A spreadsheet would run the name as a formula: neutralized. A phone number is left as it is.
    assert failed["recipientName"] == "'=HYPERLINK(\"https://evil\")"
    assert failed["recipientPhone"] == "+12025550199"


def test_the_list_filters_apply(api, messages) -> None:
    assert [r["_id"] for r in _csv_rows(api.get(URL, {"status": "delivered,fallback"}))] == \
        [messages["fallback"].pk, messages["delivered"].pk]
    assert [r["_id"] for r in _csv_rows(api.get(URL, {"batchId": "b-1"}))] == [messages["delivered"].pk]
    assert _csv_rows(api.get(URL, {"leadId": messages["other"].lead_id or "0" * 24})) == []
    # cursor and limit are the list's paging, not filters: the export has every matching row.
    assert len(_csv_rows(api.get(URL, {"limit": "1"}))) == 3


def test_ndjson_by_query_parameter_or_accept_header(api, messages) -> None:
    for response in (api.get(URL, {"format": "ndjson"}), api.get(URL, HTTP_ACCEPT="application/x-ndjson")):
        assert response.status_code == 200
        assert response["Content-Type"] == "application/x-ndjson; charset=utf-8"
        lines = [json.loads(line) for line in _body(response).splitlines()]
        assert [d["_id"] for d in lines] == [messages[k].pk for k in ("failed", "fallback", "delivered")]
        assert list(lines[0]) == list(COLUMNS)
        assert lines[2]["attemptCount"] == 2 and lines[2]["campaignId"] is None and lines[2]["sentText"] == "Hi Ada"
        assert lines[0]["recipientName"] == "=HYPERLINK(\"https://evil\")"  # JSON is data, not a spreadsheet


def test_bad_requests_are_json_errors_and_read_nothing(api, messages) -> None:
    with CaptureQueriesContext(connection) as queries:
        response = api.get(URL, {"format": "xlsx"})
    assert response.status_code == 400
    assert response.json() == {"error": "Invalid format: use csv or ndjson", "code": "INVALID_FORMAT"}
    assert not [q for q in queries.captured_queries if "messaging_message" in q["sql"]]
    response = api.get(URL, {"status": "bogus", "format": "ndjson"})
    assert response.status_code == 400 and response.json()["code"] == "INVALID_STATUS"
    assert response["Content-Type"] == "application/json"
    assert client_for("tuco_sk_nope").get(URL).status_code == 401


def test_the_11th_export_within_a_minute_is_refused(settings, workspace) -> None:
    settings.TUCO_RATE_LIMITS_ENABLED = True
    _, key = api_key_create(workspace=workspace)
    client = client_for(key)
    answers = [client.get(URL).status_code for _ in range(11)]
    assert answers == [200] * 10 + [429]


def test_keyset_batches_read_each_row_once_one_short_query_per_batch(workspace) -> None:
    made = [MessageFactory(workspace=workspace) for _ in range(7)]
    queryset = Message.objects.filter(workspace=workspace)
    with CaptureQueriesContext(connection) as queries:
        batches = [[m.pk for m in rows] for rows in keyset_batches(queryset, batch_size=3)]
    assert [len(b) for b in batches] == [3, 3, 1]
    assert [pk for b in batches for pk in b] == sorted((m.pk for m in made), reverse=True)
    assert len(queries.captured_queries) == 3
    assert all("LIMIT 3" in q["sql"] and "DECLARE" not in q["sql"] for q in queries.captured_queries)


def test_campaign_and_step_come_from_the_document_or_the_message_columns(workspace, monkeypatch) -> None:
    message = MessageFactory(workspace=workspace)
    assert (export_record(message)["campaignId"], export_record(message)["stepIndex"]) == (None, None)
    message.campaign_id, message.step_index = "cmp_1", 2  # as the campaign change's columns would be
    assert (export_record(message)["campaignId"], export_record(message)["stepIndex"]) == ("cmp_1", 2)
    document = exports.message_document
    monkeypatch.setattr(exports, "message_document", lambda m: {**document(m), "campaignId": "cmp_doc"})
    assert export_record(message)["campaignId"] == "cmp_doc"


def test_older_sent_messages_without_a_recorded_text_render_from_the_lead(workspace) -> None:
    lead = LeadFactory(workspace=workspace, first_name="Grace")
    old = MessageFactory(workspace=workspace, lead=lead, status="sent", body="Hi {{firstName}}",
                         sent_at=timezone.now())
    queued = MessageFactory(workspace=workspace, lead=lead, status="queued", body="Hi {{firstName}}")
    assert export_record(old)["sentText"] == "Hi Grace"
    assert export_record(queued)["sentText"] is None  # not sent: nothing was sent
