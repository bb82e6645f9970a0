"""Tuco behind pgbouncer in transaction mode: nothing the product does depends on session state.

The pgbouncer of tests/deployment/pgbouncer.py wipes every session after every transaction (DISCARD ALL), so
whatever relied on a session would fail here. Controls prove it does: a `SET`, a session advisory lock and a
server-side `.iterator()` outside a transaction are lost. The product's own use — the same query many times
(no prepared statements), concurrent uploads under the quota's advisory lock (transaction-scoped), the upload
retention (its iterator runs in a transaction), a send through the API with idempotency, the sweeps and the
dispatch, beat's DatabaseScheduler — all work.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from tests.deployment.pgbouncer import PgBouncer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def bouncer() -> Iterator[PgBouncer]:
    running = PgBouncer()
    yield running
    running.close()


def probe(bouncer: PgBouncer, **env: str) -> dict[str, Any]:
    # Debian's pgbouncer (1.18) predates protocol-level prepared statements (1.21, max_prepared_statements):
    # the send API's prepared statement is turned off as docs/deployment.md says for such a pooler.
    env = {"DB_PREPARED_STATEMENTS": "false", **env}
    database = connection.settings_dict["NAME"]
    result = subprocess.run([sys.executable, "-m", "tests.deployment.pgbouncer_probe"], capture_output=True,
                            text=True, timeout=180, env={**os.environ, "DATABASE_URL": bouncer.url(database),
                                                         "TUCO_LOG_LEVEL": "ERROR", **env})
    assert result.returncode == 0, result.stderr[-3000:] + bouncer.log()
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_nothing_depends_on_session_state_behind_pgbouncer(bouncer: PgBouncer) -> None:
    results = probe(bouncer)
    # Controls: this pooler really hands every transaction a fresh session.
    assert results["control_set"] == {"ok": True, "value": "0"}, results["control_set"]
    assert results["control_session_advisory_lock"] == {"ok": True, "value": 0}
    control = results["control_iterator_outside_transaction"]
    assert control["ok"] is False and "does not exist" in control["error"], control
    # The product:
    assert results["same_query_many_times"] == {"ok": True, "value": 20}, results["same_query_many_times"]
    assert results["uploads_quota_lock"] == {"ok": True, "value": ["refused"] * 5 + ["stored"] * 3}, \
        results["uploads_quota_lock"]
    assert results["uploads_retention"] == {"ok": True, "value": {"expired": 4, "keptInUse": 1, "errors": []}}, \
        results["uploads_retention"]
    assert results["api_send_and_sweeps"] == {"ok": True, "value": {
        "statuses": [201, 201, 201], "replay": 201, "swept": 3, "outcomes": ["sent"] * 3, "sent": 3}}, \
        results["api_send_and_sweeps"]
    beat = results["beat_scheduler"]
    assert beat["ok"] is True and beat["value"] >= 5, beat


def test_db_disable_server_side_cursors_makes_any_iterator_safe(bouncer: PgBouncer) -> None:
    results = probe(bouncer, DB_DISABLE_SERVER_SIDE_CURSORS="true")
    assert results["control_iterator_outside_transaction"] == {"ok": True, "value": 3}, \
        results["control_iterator_outside_transaction"]
    assert results["uploads_retention"]["ok"] is True


def test_the_prepared_send_statement_needs_the_setting_behind_an_old_pgbouncer(bouncer: PgBouncer) -> None:
    # Why DB_PREPARED_STATEMENTS exists: this pooler drops the session's prepared statement after the
    # transaction that made it, so a send on the next transaction cannot find it. Nothing is written then
    # (a 500, no message); with the setting off (the test above) the same sends are 201.
    results = probe(bouncer, DB_PREPARED_STATEMENTS="true")
    api = results["api_send_and_sweeps"]
    assert api["ok"] is True and 500 in api["value"]["statuses"], api
    assert api["value"]["sent"] < 3, api
