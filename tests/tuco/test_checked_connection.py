"""Provider callbacks check the persistent DB connection first: a dropped one costs them nothing."""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection
from django.test import Client

from messaging.models import Message
from tests.factories import LineFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _drop_our_connection() -> None:
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    params = connection.get_connection_params()
    with psycopg.connect(**{k: v for k, v in params.items() if k != "cursor_factory"}, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])


def test_a_relay_reply_arriving_on_a_dropped_connection_is_stored() -> None:
    line = LineFactory(workspace=WorkspaceFactory())
    _drop_our_connection()
    response = Client().post(
        f"/hooks/bluebubbles/{line.pk}?secret={line.webhook_secret}",
        {"type": "new-message", "data": {"guid": "p:0/DROPPED-1", "text": "Still there?", "isFromMe": False,
                                         "handle": {"address": "+12025550777"}, "dateCreated": 1700000000000}},
        content_type="application/json")
    assert response.status_code == 200 and response.json()["result"] == "received"
    assert Message.objects.filter(direction="inbound", body="Still there?").count() == 1
