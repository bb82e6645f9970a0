"""The admin's export actions on the messages changelist: the same streamed CSV / NDJSON as
GET /api/messages/export, of the selected rows or (select all) the filtered, workspace-scoped changelist."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from django.urls import reverse

from messaging.models import Message
from tests.admin.conftest import logged_in
from tests.factories import MessageFactory

pytestmark = pytest.mark.django_db


def _body(response: Any) -> str:
    assert response.streaming, "the export must stream"
    return b"".join(response.streaming_content).decode()


def test_admin_action_streams_the_selected_rows(bob, world_a, world_b) -> None:
    a1 = MessageFactory(workspace=world_a.workspace, body="first")
    a2 = MessageFactory(workspace=world_a.workspace, body="second")
    b1 = MessageFactory(workspace=world_b.workspace, body="theirs")
    client = logged_in(bob)
    url = reverse("admin:messaging_message_changelist")
    response = client.post(url, {"action": "export_csv", "_selected_action": [a1.pk, a2.pk, b1.pk]})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    ids = [r["_id"] for r in csv.DictReader(io.StringIO(_body(response)))]
    assert ids == [a2.pk, a1.pk]  # another workspace's row is not exported, even when its id is posted
    # "Select all" exports the whole filtered changelist.
    response = client.post(url + "?status__exact=pending", {"action": "export_ndjson", "select_across": "1",
                                                             "_selected_action": [a1.pk]})
    rows = [json.loads(line) for line in _body(response).splitlines()]
    expected = Message.objects.filter(workspace=world_a.workspace, status="pending").order_by("-pk")
    assert [r["_id"] for r in rows] == [m.pk for m in expected] and len(rows) >= 2
