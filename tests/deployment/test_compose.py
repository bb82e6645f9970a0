"""docker/compose.yaml cannot be started here: check its shape instead (docs/deployment.md)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("migrate", "web", "worker", "webhooks", "fallback", "beat")


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())["services"]


def test_every_app_service_shares_the_bucket_and_goes_through_pgbouncer() -> None:
    services = compose()
    assert {"postgres", "pgbouncer", "redis", "minio", "minio-init", *APP_SERVICES} <= set(services)
    for name in APP_SERVICES:
        env = services[name]["environment"]
        assert env["TUCO_STORAGE"] == "s3" and env["TUCO_S3_ENDPOINT_URL"] == "http://minio:9000", name
        assert "volumes" not in services[name], f"{name} keeps nothing on a local disk"
        host = "postgres:5432" if name == "migrate" else "pgbouncer:5432"
        assert f"@{host}/" in env["DATABASE_URL"], name
    assert services["pgbouncer"]["environment"]["POOL_MODE"] == "transaction"
    assert "ports" not in services["minio"]  # private bucket: uploads are served by web


def test_one_beat_and_the_procfile_queues() -> None:
    services = compose()
    assert services["beat"].get("deploy", {}).get("replicas", 1) == 1
    procfile = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line)
    for name in ("worker", "webhooks", "fallback"):
        queues = re.search(r"-Q (\S+)", procfile[name]).group(1)
        command = services[name]["command"]
        assert command[command.index("-Q") + 1] == queues, name


def test_every_variable_the_compose_file_sets_is_documented() -> None:
    readme = (ROOT / "README.md").read_text()
    names = {key for name in APP_SERVICES for key in compose()[name]["environment"]}
    assert sorted(n for n in names if n not in readme) == []
