"""`make fuzz`: schemathesis' CLI against the real app over HTTP, every operation, minutes long. Not in `make test`.

(Named fuzz_run.py, not test_*.py, so the suite does not collect it; `make fuzz` names the file.)

The server is the hardening suite's (tests/hardening/server.py: Django's threaded live
server in this process, on the test database `test_<DATABASE_URL's name>`), with two
seeded workspaces (tests/hardening/seed.py): A, whose key the fuzzer uses, and B, whose
line secrets and Twilio token sign the provider callbacks. Rate limits are off; outgoing
webhook health checks time out after 2 s. The fuzzer runs as its own process (`st run`),
so it does not share this process's interpreter lock with the server.

What it runs: the document of tests/hardening/fuzz_document.py (/api/schema, fetched from
the live server, plus the /hooks/ callbacks), all four phases (examples, coverage,
fuzzing, stateful), positive and negative data, a fixed seed (printed by schemathesis and
again at the end), the hooks of tests/hardening/fuzz_hooks.py. Checks: no 5xx, documented
status codes, content types and response bodies. The run fails on any failure or when it
generated fewer than TUCO_FUZZ_MIN_CASES cases.

Knobs (environment): TUCO_FUZZ_SEED (20240619), TUCO_FUZZ_MAX_EXAMPLES (per operation and
mode, 600), TUCO_FUZZ_WORKERS (1), TUCO_FUZZ_MIN_CASES (20000), TUCO_FUZZ_REPORT_DIR
(var/fuzz: schemathesis' JUnit and NDJSON reports, plus a pytest file replaying failures).
"""

from __future__ import annotations

import json
import logging
import os
import platform
import shlex
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from tests.hardening.fuzz_document import fuzz_document
from tests.hardening.seed import Seeded, seed_workspace, seeded_path_ids
from tests.hardening.server import live_http_server
from webhooks import policy

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(3 * 3600)]

SEED = int(os.environ.get("TUCO_FUZZ_SEED", "20240619"))
MAX_EXAMPLES = int(os.environ.get("TUCO_FUZZ_MAX_EXAMPLES", "600"))
# One worker: with two, Hypothesis builds strategies in two threads and CPython 3.11's ast.parse (which it calls
# to describe filter lambdas) is not thread-safe ("AST constructor recursion depth mismatch").
WORKERS = int(os.environ.get("TUCO_FUZZ_WORKERS", "1"))
MIN_CASES = int(os.environ.get("TUCO_FUZZ_MIN_CASES", "20000"))
REPORT_DIR = Path(os.environ.get("TUCO_FUZZ_REPORT_DIR", "var/fuzz")).resolve()
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


class Served:
    def __init__(self, base_url: str, a: Seeded, b: Seeded) -> None:
        self.base_url, self.a, self.b = base_url, a, b


@pytest.fixture(scope="module")
def served(django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The live server on two seeded workspaces; the committed rows are flushed at the end.

    Module-scoped, so the rows are committed outside the test's transaction: the server's own connections
    must see them.
    """
    media = tmp_path_factory.mktemp("media")
    with django_db_blocker.unblock(), live_http_server() as base_url:
        # The flush at the end: never against anything but the test database.
        assert connection.settings_dict["NAME"].startswith("test_"), connection.settings_dict["NAME"]
        overrides = override_settings(MEDIA_ROOT=media, TUCO_RATE_LIMITS_ENABLED=False,
                                      TUCO_PUBLIC_URL=base_url)
        with overrides, pytest.MonkeyPatch.context() as patch:
            # 4xx are the point of a fuzz run: one warning line each would drown the 5xx (logged as errors).
            patch.setattr(logging.getLogger("django.request"), "level", logging.ERROR)
            # Health checks POST to whatever URL a generated PATCH set: keep a black-holed address from stalling.
            patch.setattr(policy, "REQUEST_TIMEOUT_SECONDS", 2.0)
            try:
                yield Served(base_url, seed_workspace(name="fuzzed", webhook_url=f"{base_url}/health/live"),
                             seed_workspace(name="callbacks"))
            finally:
                call_command("flush", interactive=False, verbosity=0)


def _context(served: Served) -> dict[str, Any]:
    b = served.b
    return {
        "base_url": served.base_url, "key": served.a.key, "ids": seeded_path_ids(served.a),
        "hooks": {"workspace_id": b.workspace.pk, "twilio_auth_token": b.fallback.twilio_auth_token,
                  "relay_line": {"id": b.line.pk, "secret": b.line.webhook_secret},
                  "email_line": {"id": b.email_line.pk, "secret": b.email_line.webhook_secret}},
    }


def _command(document: Path, served: Served) -> list[str]:
    return [
        str(Path(sys.executable).with_name("st")), "--no-color", "run", str(document), "--url", served.base_url,
        "--header", f"Authorization: Bearer {served.a.key}",
        "--phases", "examples,coverage,fuzzing,stateful", "--mode", "all",
        "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED), "--workers", str(WORKERS),
        "--checks", CHECKS, "--suppress-health-check", "all", "--generation-database", "none",
        "--request-timeout", "30", "--max-response-time", "15",
        "--report", "junit,ndjson,pytest", "--report-dir", str(REPORT_DIR),
        "--report-junit-path", str(REPORT_DIR / "junit.xml"), "--report-ndjson-path", str(REPORT_DIR / "events.ndjson"),
        "--report-pytest-path", str(REPORT_DIR / "test_replay_failures.py"),
    ]


def _shown(command: list[str], key: str) -> str:
    return shlex.join(command).replace(key, "<key of workspace A>")


def _junit_totals(path: Path) -> dict[str, int]:
    suite = ET.parse(path).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    assert suite is not None
    return {name: int(suite.get(name, "0")) for name in ("tests", "failures", "errors", "skipped")}


def _cases(ndjson: Path) -> int:
    """Generated cases, as schemathesis counts them: one per request it made for a scenario."""
    total = 0
    for line in ndjson.read_text().splitlines():
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if finished is not None:
            total += len(finished.get("recorder", {}).get("cases", {}))
    return total


def test_fuzz_every_operation(served: Served, tmp_path: Path) -> None:
    api_document = requests.get(f"{served.base_url}/api/schema", headers={"Accept": "application/json"},
                                timeout=30).json()
    document = tmp_path / "fuzz-openapi.json"
    document.write_text(json.dumps(fuzz_document(api_document)))
    context = tmp_path / "fuzz-context.json"
    context.write_text(json.dumps(_context(served)))
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    command = _command(document, served)
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.hardening.fuzz_hooks", "TUCO_FUZZ_CONTEXT": str(context)}
    print(f"\n$ {_shown(command, served.a.key)}\n", flush=True)
    started = time.monotonic()
    finished = subprocess.run(command, env=env, cwd=Path(__file__).resolve().parents[2], check=False)
    seconds = time.monotonic() - started
    totals = _junit_totals(REPORT_DIR / "junit.xml")
    cases = _cases(REPORT_DIR / "events.ndjson")
    figure = {"cases": cases, "seconds": round(seconds), "operations": totals["tests"],
              "failures": totals["failures"], "errors": totals["errors"], "seed": SEED,
              "maxExamples": MAX_EXAMPLES, "workers": WORKERS, "machine": f"{platform.machine()}, "
              f"{os.cpu_count()} cores, Python {platform.python_version()}"}
    (REPORT_DIR / "figure.json").write_text(json.dumps(figure, indent=2))
    print(f"\nfuzz figure: {json.dumps(figure)}\nreports: {REPORT_DIR}", flush=True)
    assert finished.returncode == 0, f"schemathesis found failures (seed {SEED}): see the output above"
    assert totals["failures"] == totals["errors"] == 0, totals
    assert cases >= MIN_CASES, f"only {cases} cases generated; raise TUCO_FUZZ_MAX_EXAMPLES"
