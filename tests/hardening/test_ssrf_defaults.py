"""SSRF guard on by default; IPv6 forms that carry a private IPv4 address are private; upload URLs
are judged by the path the fetch would reach."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.hardening.conftest import call, client_with
from tests.hardening.seed import Seeded
from tuco.urlsafety import UnsafeUrl, address_is_public, check_url

BASE_DIR = Path(__file__).resolve().parents[2]


def _production_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUCO_") and k != "DJANGO_SETTINGS_MODULE"}
    env.update(DJANGO_SETTINGS_MODULE="tuco.settings", DATABASE_URL=os.environ["DATABASE_URL"],
               REDIS_URL=os.environ["REDIS_URL"], TUCO_LOG_LEVEL="ERROR",
               TUCO_ENCRYPTION_KEYS=os.environ["TUCO_ENCRYPTION_KEYS"])
    return env


def test_private_urls_are_refused_under_the_default_settings() -> None:
    probe = ("from django.conf import settings; from tuco.urlsafety import check_url, UnsafeUrl\n"
             "try:\n    check_url('http://127.0.0.1:8080/hook'); refused = False\n"
             "except UnsafeUrl:\n    refused = True\n"
             "print(settings.TUCO_ALLOW_PRIVATE_URLS, refused)")
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c", probe], cwd=BASE_DIR, env=_production_env(),
                            capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.split()[-2:] == ["False", "True"], result.stdout + result.stderr


def test_make_run_turns_private_urls_on_and_makes_its_own_secret_key(monkeypatch: Any, tmp_path: Path) -> None:
    from tuco import embedded, run

    monkeypatch.delenv("TUCO_ALLOW_PRIVATE_URLS", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgres://unused")  # skips the embedded engines
    monkeypatch.setattr(embedded, "VAR_DIR", tmp_path)
    demo = {k: "x" for k in ("workspaceId", "apiKey", "lineId", "deviceId", "adminUser", "adminPassword")}
    monkeypatch.setattr(run, "_manage", lambda env, *args: json.dumps(demo))
    started: list[dict[str, str]] = []
    monkeypatch.setattr(run.os, "execvpe", lambda file, args, env: started.append(dict(env)))
    run.main()
    run.main()
    assert started[0]["TUCO_ALLOW_PRIVATE_URLS"] == "true"
    # A key of its own (the settings refuse the built-in one), kept for the next run, readable only by us.
    assert len(started[0]["SECRET_KEY"]) >= 50 and started[0]["SECRET_KEY"] == started[1]["SECRET_KEY"]
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("ip", [
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254 (cloud metadata)
    "2002:0a00:0001::1",  # 6to4 of 10.0.0.1
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of the metadata address
    "64:ff9b:1::808:808",  # NAT64 local-use prefix
    "::ffff:127.0.0.1", "::ffff:0:7f00:1",  # IPv4-mapped, IPv4-translated
    "::127.0.0.1", "::10.0.0.1",  # IPv4-compatible
    "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo, client 10.0.0.1
    "2001:0:0a00:0001:8000:63bf:3fff:fdd2",  # Teredo, server 10.0.0.1
    "::1", "::", "fe80::1%eth0", "fd00::1", "10.0.0.1", "169.254.169.254", "100.64.0.1",
])
def test_private_addresses_in_any_form_are_not_public(ip: str) -> None:
    assert address_is_public(ip) is False
    with pytest.raises(UnsafeUrl):
        check_url(f"https://[{ip.split('%')[0]}]/hook" if ":" in ip else f"https://{ip}/hook", allow_private=False)


@pytest.mark.parametrize("ip", ["8.8.8.8", "2606:4700::1111", "2002:808:808::1", "::ffff:8.8.8.8",
                                "64:ff9b::808:808"])
def test_public_addresses_stay_public(ip: str) -> None:
    assert address_is_public(ip) is True


@pytest.mark.parametrize("path", [
    "/%75ploads/{ws}/{token}/{name}", "/%75%70%6c%6f%61%64%73/{ws}/{token}/{name}", "//uploads/{ws}/{token}/{name}",
    "/./uploads/{ws}/{token}/{name}", "/x/../uploads/{ws}/{token}/{name}", "/uploads//{ws}/{token}/{name}",
    "/uploads/{ws}/./{token}/{name}", "/uploads/%7B/../{ws}/{token}/{name}",
])
def test_another_workspaces_upload_in_a_disguised_path_is_403(seeded_a: Seeded, seeded_b: Seeded, path: str,
                                                               settings: Any) -> None:
    settings.TUCO_PUBLIC_URL = "https://tuco.example"
    upload = seeded_b.upload
    url = "https://tuco.example" + path.format(ws=upload.workspace_id, token=upload.token, name=upload.name)
    client = client_with({"Authorization": f"Bearer {seeded_a.key}"})
    response = call(client, "POST", "/api/messages", {"message": "hi", "recipientPhone": "+12025550170",
                                                      "attachmentUrls": [url]})
    assert response.status_code == 403, (url, response.status_code, response.content[:200])
    assert response.json() == {"error": "Attachment URL does not belong to this organization"}
    # ... and the owner's own upload under the same disguise is accepted (it is the same file).
    owner = client_with({"Authorization": f"Bearer {seeded_b.key}"})
    assert call(owner, "POST", "/api/messages", {"message": "hi", "recipientPhone": "+12025550171",
                                                 "attachmentUrls": [url]}).status_code == 201
