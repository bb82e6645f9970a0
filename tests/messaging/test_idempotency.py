"""Idempotency-Key: byte-for-byte replay, 409 on reuse with another body or while in flight."""

from __future__ import annotations

import json
import threading
import time

import pytest
from django.db import connection

from messaging.models import Message
from tests.conftest import client_for
from tests.factories import LineFactory, WorkspaceFactory
from tuco.models import IdempotencyRecord
from tuco.services import api_key_create

BODY = {"message": "Idem", "recipientPhone": "+12025551234"}


@pytest.mark.django_db
def test_same_key_replays_the_first_response_byte_for_byte(api, line) -> None:
    first = api.post("/api/messages", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    second = api.post("/api/messages", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert second["Idempotent-Replayed"] == "true"
    assert Message.objects.count() == 1


@pytest.mark.django_db
def test_idempotency_runs_before_the_dedup_guard(api, line) -> None:
    api.post("/api/messages", BODY, format="json")
    keyed = api.post("/api/messages", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    replay = api.post("/api/messages", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert keyed.status_code == 200 and keyed.json()["duplicateOnly"] is True
    assert replay.content == keyed.content and replay.status_code == 200


@pytest.mark.django_db
def test_same_key_with_another_body_is_409(api, line) -> None:
    api.post("/api/messages", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    other = api.post("/api/messages", {**BODY, "message": "different"}, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert other.status_code == 409
    assert other.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert Message.objects.count() == 1


@pytest.mark.django_db
def test_keys_are_per_workspace(api, line) -> None:
    api.post("/api/messages", BODY, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    other = WorkspaceFactory()
    LineFactory(workspace=other)
    _, raw = api_key_create(workspace=other)
    response = client_for(raw).post("/api/messages", BODY, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    assert response.status_code == 201
    assert Message.objects.count() == 2


@pytest.mark.django_db
def test_rejected_request_keeps_no_record_and_can_be_fixed(api, line) -> None:
    bad = api.post("/api/messages", {"recipientPhone": "+12025551234"}, format="json", HTTP_IDEMPOTENCY_KEY="k-4")
    assert bad.status_code == 400
    assert IdempotencyRecord.objects.count() == 0
    # The same key with the corrected body now works.
    fixed = api.post("/api/messages", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-4")
    assert fixed.status_code == 201


@pytest.mark.django_db(transaction=True)
def test_concurrent_request_with_an_in_flight_key_is_409(monkeypatch) -> None:
    workspace = WorkspaceFactory()
    LineFactory(workspace=workspace)
    _, raw = api_key_create(workspace=workspace)
    import messaging.api as messaging_api

    entered = threading.Event()
    release = threading.Event()
    original = messaging_api.message_create

    def slow_create(**kwargs):  # hold the first request inside the view
        entered.set()
        release.wait(10)
        return original(**kwargs)

    monkeypatch.setattr(messaging_api, "message_create", slow_create)
    results: dict[str, object] = {}

    def first() -> None:
        try:
            results["first"] = client_for(raw).post("/api/messages", BODY, format="json",
                                                    HTTP_IDEMPOTENCY_KEY="k-5")
        finally:
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    assert entered.wait(10)
    try:
        second = client_for(raw).post("/api/messages", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-5")
    finally:
        release.set()
        thread.join()
    assert second.status_code == 409
    assert second.json()["code"] == "IDEMPOTENCY_KEY_IN_PROGRESS"
    assert results["first"].status_code == 201
    time.sleep(0)
    third = client_for(raw).post("/api/messages", BODY, format="json", HTTP_IDEMPOTENCY_KEY="k-5")
    assert third.status_code == 201 and json.loads(third.content) == json.loads(results["first"].content)
