from __future__ import annotations

import pytest


@pytest.mark.django_db
def test_health(client) -> None:
    assert client.get("/health/live").json() == {"status": "ok"}
    ready = client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_ready_reports_a_dead_broker(client, settings) -> None:
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    ready = client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json()["checks"]["broker"].startswith("error")


@pytest.mark.django_db
def test_schema_describes_the_send_api(client) -> None:
    schema = client.get("/api/schema", HTTP_ACCEPT="application/json").json()
    send = schema["paths"]["/api/messages"]["post"]
    body = schema["components"]["schemas"][send["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                                           .split("/")[-1]]
    for field in ("message", "messageType", "recipientPhone", "recipientEmail", "fromLineId", "leadId",
                  "scheduledDate", "sendFallbackSmsOnFailed", "forceFallback", "attachmentUrls", "altPhone1"):
        assert field in body["properties"], field
    assert "/api/messages/{id}" in schema["paths"] or "/api/messages/{message_id}" in schema["paths"]
    assert client.get("/api/docs").status_code == 200


@pytest.mark.django_db
def test_unknown_api_path_is_json_404(client) -> None:
    response = client.get("/api/nope")
    assert response.status_code == 404 and response.json() == {"error": "Not found"}
