"""The answers `make fuzz` found off their documented schema (docs/hardening.md), one test each with the case it sent.

- POST /api/messages/{id}/cancel answered {success, status, message, leadId} but was documented as the send
  response (which requires the CRM links): now it has a schema of its own.
- POST /api/campaigns/{id}/leads with `{listId}` or `{leadIds}` answers counts (`alreadyInCampaign` a number),
  documented as the one-lead answer (`alreadyInCampaign` a boolean, CRM links required): now a oneOf of both.
- A JSON body over the 1 MB limit is tuco.limits' 413 PAYLOAD_TOO_LARGE on every operation that takes a
  body; POST /api/leads did not document it: now every such operation does.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from leads.models import Lead
from messaging.models import Message
from tests.hardening.seed import Seeded
from tuco.wsgi import application

CHECKS = [status_code_conformance, content_type_conformance, response_schema_conformance]
schema = schemathesis.openapi.from_wsgi("/api/schema", application)


@pytest.fixture
def wsgi_calls(seeded_a: Seeded, keep_connection: Any) -> Seeded:
    return seeded_a


def _call(seeded: Seeded, path: str, method: str, **case_fields: Any) -> Any:
    case = schema[path][method].Case(headers=seeded.auth, **case_fields)
    response = case.call()
    case.validate_response(response, checks=CHECKS)
    return response


def test_cancel_answers_its_documented_schema(wsgi_calls: Seeded) -> None:
    seeded = wsgi_calls
    response = _call(seeded, "/api/messages/{message_id}/cancel", "POST",
                     path_parameters={"message_id": seeded.message.pk})
    assert response.status_code == 200
    assert json.loads(response.content)["status"] == "cancelled"
    assert Message.objects.get(pk=seeded.message.pk).status == "cancelled"


def test_bulk_enrolment_answers_its_documented_schema(wsgi_calls: Seeded) -> None:
    seeded = wsgi_calls
    response = _call(seeded, "/api/campaigns/{campaign_id}/leads", "POST",
                     path_parameters={"campaign_id": seeded.campaign.pk}, body={"listId": seeded.lead_list.pk},
                     media_type="application/json")
    assert response.status_code == 200
    counts = json.loads(response.content)
    assert {"requested", "enrolled", "alreadyInCampaign", "notFound"} <= set(counts)
    assert isinstance(counts["alreadyInCampaign"], int) and not isinstance(counts["alreadyInCampaign"], bool)


def test_one_lead_enrolment_still_answers_its_documented_schema(wsgi_calls: Seeded) -> None:
    seeded = wsgi_calls
    for _ in range(2):  # added, then "already in campaign"
        response = _call(seeded, "/api/campaigns/{campaign_id}/leads", "POST",
                         path_parameters={"campaign_id": seeded.campaign.pk}, body={"leadId": seeded.lead.pk},
                         media_type="application/json")
        assert response.status_code == 200
    assert json.loads(response.content)["alreadyInCampaign"] is True


def test_an_oversized_body_is_a_documented_413(wsgi_calls: Seeded) -> None:
    seeded = wsgi_calls
    before = Lead.objects.filter(workspace=seeded.workspace).count()
    response = _call(seeded, "/api/leads", "POST", body={"phone": "+12025550123", "notes": "x" * 1_100_000},
                     media_type="application/json")
    assert response.status_code == 413
    assert json.loads(response.content)["code"] == "PAYLOAD_TOO_LARGE"
    assert Lead.objects.filter(workspace=seeded.workspace).count() == before


def test_every_operation_with_a_body_documents_the_413() -> None:
    document = schema.raw_schema
    missing = [f"{method.upper()} {path}" for path, operations in document["paths"].items()
               for method, operation in operations.items()
               if isinstance(operation, dict) and "requestBody" in operation and "413" not in operation["responses"]]
    assert missing == []
