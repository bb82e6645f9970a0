"""Schemathesis against the live server: every operation of /api/schema, with a valid key, on real ids.

The app runs as a real HTTP server (Django's threaded live server, tests/hardening/server.py)
on the test database, with one workspace seeded once for the module: a line, a lead in a
list, a DNC entry, a scheduled message with a reply, a webhook with a delivered event, a
fallback config and an upload. Every operation of the OpenAPI document is called with
generated input (positive and negative modes; explicit examples and fuzzing phases) and a
valid key. Each answer must be a documented status with a documented content type and a
body matching its schema, and never a 5xx.

Path parameters: three cases in four use real ids of the seeded workspace (so the success
paths run), the fourth keeps the generated value (mostly unknown ids → 404). A DELETE gets a
fresh object, created through the API, so the seeded rows stay for the other operations.
No operation is skipped: the workspace is the test's own, on a test database. Rate limits
are off here (their 429s are documented and tested in test_rate_limits.py).

positive_data_acceptance is not enforced: rules such as "one of phone or email" or "a valid
phone number" cannot be written as JSON Schema, so some schema-valid bodies are rightly 400s.
negative_data_rejection is not enforced either: unknown fields are ignored by design.
test_parsing.py checks wrong JSON types field by field instead.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.hardening.real_ids import RealIds
from tests.hardening.seed import Seeded, seed_workspace, seeded_path_ids
from tests.hardening.server import live_http_server
from webhooks import policy

# Not transactional on purpose: the seeded rows are committed once for the whole module (see `fuzz`); the marker
# makes pytest-django set up the test database even when this module runs alone.
pytestmark = [pytest.mark.django_db, pytest.mark.xdist_group("schemathesis")]

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# A deeper run: TUCO_FUZZ_MAX_EXAMPLES=200 TUCO_FUZZ_COVERAGE=1 (schemathesis' coverage phase: boundary values and
# every wrong type, a few hundred cases per operation; minutes rather than seconds).
MAX_EXAMPLES = int(os.environ.get("TUCO_FUZZ_MAX_EXAMPLES", "20"))
COVERAGE_PHASE = os.environ.get("TUCO_FUZZ_COVERAGE", "") == "1"


class Fuzz:
    def __init__(self, base_url: str, seeded: Seeded) -> None:
        self.base_url = base_url
        self.seeded = seeded
        self.session = requests.Session()
        self.calls = 0
        self.ids = RealIds(base_url, seeded.auth, seeded_path_ids(seeded), self.session)

    def real_ids(self, case: Any) -> dict[str, str]:
        """Ids of existing rows for the operation's path parameters (fresh rows for a DELETE)."""
        return self.ids.for_case(case.method, case.path_parameters)


@pytest.fixture(scope="module")
def fuzz(django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzz]:
    """One seeded workspace for every operation of the module (set up once: a flush per operation costs seconds).

    The rows are committed (the live server reads them from its own connections), so the
    module removes them itself at the end, as a transactional test would.
    """
    with django_db_blocker.unblock(), live_http_server() as base_url:
        # This fixture flushes the database at the end: never let it run against anything but the test database.
        assert connection.settings_dict["NAME"].startswith("test_"), connection.settings_dict["NAME"]
        yield from _seeded_fuzz(base_url, tmp_path_factory)


def _seeded_fuzz(base_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzz]:
    overrides = override_settings(
        MEDIA_ROOT=tmp_path_factory.mktemp("media"),
        # The 429s are documented and tested in test_rate_limits.py; here they would only hide the other answers.
        TUCO_RATE_LIMITS_ENABLED=False,
        TUCO_PUBLIC_URL=base_url,
    )
    with overrides, pytest.MonkeyPatch.context() as patch:
        # Health checks POST to whatever URL a generated PATCH set: keep a black-holed address from stalling the run.
        patch.setattr(policy, "REQUEST_TIMEOUT_SECONDS", 2.0)
        try:
            fuzz = Fuzz(base_url, seed_workspace(name="fuzzed", webhook_url=f"{base_url}/health/live"))
            yield fuzz
            # The live server's request thread keeps its database connection until the client hangs up.
            fuzz.session.close()
        finally:
            call_command("flush", interactive=False, verbosity=0)


def _schema_document() -> dict[str, Any]:
    # Generated from the URL conf and serializers, without the database, so it can be loaded at collection time.
    # (schemathesis.pytest.from_fixture, the lazy loader that could read it from the live server, does not run
    # under pytest 9; the test checks that the live server serves this same document.)
    response = Client().get("/api/schema", HTTP_ACCEPT="application/json")
    assert response.status_code == 200, response.content
    return response.json()


DOCUMENT = _schema_document()
schema = schemathesis.openapi.from_dict(DOCUMENT, config=schemathesis.Config.from_dict(
    {"seed": 20240611, "phases": {"coverage": {"enabled": COVERAGE_PHASE}}}))


@schema.parametrize()
@hypothesis_settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
                     derandomize=True, database=None)
def test_every_operation_keeps_to_the_schema_and_never_5xx(case: Any, fuzz: Fuzz) -> None:
    if fuzz.calls == 0:
        served = fuzz.session.get(f"{fuzz.base_url}/api/schema", headers={"Accept": "application/json"}, timeout=30)
        assert served.status_code == 200 and served.json() == DOCUMENT
    if case.path_parameters and fuzz.calls % 4:
        case.path_parameters.update(fuzz.real_ids(case))
    fuzz.calls += 1
    started = time.monotonic()
    case.call_and_validate(base_url=fuzz.base_url, session=fuzz.session, headers=fuzz.seeded.auth, checks=CHECKS,
                           timeout=30)
    assert time.monotonic() - started < 15, "one request must not take this long (a hang?)"
