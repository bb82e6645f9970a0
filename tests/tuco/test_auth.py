"""API-key auth: 401 shapes, revocation, hashing, lastUsedAt, 402 READ_ONLY on writes only."""

from __future__ import annotations

import hashlib

import pytest
from django.utils import timezone

from messaging.models import Message
from tests.conftest import client_for
from tests.factories import WorkspaceFactory
from tuco.models import ApiKey, Workspace
from tuco.services import api_key_create, api_key_revoke

pytestmark = pytest.mark.django_db

SEND = {"message": "Hello", "recipientPhone": "+12025551234"}


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer ", "Basic abc", "Bearer tuco_sk_unknown",
                                    "Bearer not-even-a-tuco-key", "Token tuco_sk_x"])
def test_missing_or_invalid_key_is_401_with_the_spec_body(header: str | None, line) -> None:
    from rest_framework.test import APIClient

    client = APIClient()
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)
    for response in (client.post("/api/messages", SEND, format="json"), client.get("/api/messages")):
        assert response.status_code == 401
        assert response.json() == {"error": "Unauthorized"}
    assert Message.objects.count() == 0


def test_revoked_key_stops_working_immediately(workspace, line) -> None:
    api_key, raw = api_key_create(workspace=workspace)
    assert client_for(raw).get("/api/messages").status_code == 200
    assert api_key_revoke(api_key=api_key) is True
    response = client_for(raw).get("/api/messages")
    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized"}


def test_key_is_stored_only_as_sha256(workspace) -> None:
    api_key, raw = api_key_create(workspace=workspace)
    assert raw.startswith("tuco_sk_") and len(raw) > 40
    stored = ApiKey.objects.get(pk=api_key.pk)
    assert stored.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in str(stored.__dict__.values())


def test_last_used_at_is_recorded(workspace) -> None:
    api_key, raw = api_key_create(workspace=workspace)
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at is None
    before = timezone.now()
    client_for(raw).get("/api/messages")
    used = ApiKey.objects.get(pk=api_key.pk).last_used_at
    assert used is not None and used >= before


def test_past_due_workspace_can_read_but_not_write(line, workspace, api) -> None:
    Workspace.objects.filter(pk=workspace.pk).update(billing_status="past_due")
    response = api.post("/api/messages", SEND, format="json")
    assert response.status_code == 402
    assert response.json() == {"error": "READ_ONLY", "code": "READ_ONLY", "reason": "past_due"}
    assert Message.objects.count() == 0
    assert api.get("/api/messages").status_code == 200


def test_another_workspace_key_cannot_write_into_this_one(line) -> None:
    other = WorkspaceFactory()
    _, raw = api_key_create(workspace=other)
    response = client_for(raw).post("/api/messages", {**SEND, "fromLineId": line.pk}, format="json")
    assert response.status_code == 404
    assert Message.objects.count() == 0
