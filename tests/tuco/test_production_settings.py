"""Production settings: no start with the built-in SECRET_KEY, and `manage.py check --deploy` is clean.

Each case runs manage.py in a fresh process with an environment built here (not the test settings).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "false",
    "ALLOWED_HOSTS": "tuco.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://tuco.example.com",
    "TUCO_PUBLIC_URL": "https://tuco.example.com",
    "TUCO_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO",
    "TUCO_SSL_REDIRECT": "true",
    "TUCO_SECURE_COOKIES": "true",
    "TUCO_HSTS_SECONDS": "31536000",
    "TUCO_HSTS_INCLUDE_SUBDOMAINS": "true",
    "TUCO_HSTS_PRELOAD": "true",
}


def _manage(*args: str, var_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith("TUCO_") and k not in ("DJANGO_SETTINGS_MODULE", "SECRET_KEY", "DEBUG")}
    base.update(DJANGO_SETTINGS_MODULE="tuco.settings", DATABASE_URL=os.environ["DATABASE_URL"],
                REDIS_URL=os.environ["REDIS_URL"], TUCO_LOG_LEVEL="ERROR", TUCO_VAR_DIR=str(var_dir),
                # production also requires its encryption keys (tuco.crypto): the tests' public one
                TUCO_ENCRYPTION_KEYS=os.environ["TUCO_ENCRYPTION_KEYS"], **env)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=base, capture_output=True,
                          text=True, timeout=120)


def test_check_deploy_is_clean_under_production_settings(tmp_path: Path) -> None:
    result = _manage("check", "--deploy", "--fail-level", "WARNING", var_dir=tmp_path,
                     SECRET_KEY=secrets.token_urlsafe(50),
                     **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout, result.stdout + result.stderr


def test_check_deploy_names_what_is_missing_without_the_https_settings(tmp_path: Path) -> None:
    result = _manage("check", "--deploy", var_dir=tmp_path, SECRET_KEY=secrets.token_urlsafe(50), DEBUG="false")
    for code in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert code in result.stderr + result.stdout, code


def test_the_built_in_secret_key_is_refused_when_debug_is_off(tmp_path: Path) -> None:
    result = _manage("check", var_dir=tmp_path, **PRODUCTION)
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is not set" in result.stderr, result.stderr[-2000:]


def test_the_built_in_secret_key_is_allowed_for_local_debugging(tmp_path: Path) -> None:
    result = _manage("check", var_dir=tmp_path, DEBUG="true")
    assert result.returncode == 0, result.stderr[-2000:]


def test_after_make_run_a_bare_manage_py_uses_the_key_it_made(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text(secrets.token_urlsafe(50))
    probe = "from django.conf import settings; print(len(settings.SECRET_KEY))"
    result = _manage("shell", "-c", probe, var_dir=tmp_path, DEBUG="false")
    assert result.returncode == 0 and result.stdout.split()[-1] == "67", result.stdout + result.stderr


PROXY_PROBE = (
    "from django.test import Client; client = Client(HTTP_HOST='tuco.example.com')\n"
    "plain = client.get('/no-such-page')\n"
    "marked = client.get('/no-such-page', HTTP_X_FORWARDED_PROTO='https')\n"
    "print(plain.status_code, marked.status_code, marked.has_header('Strict-Transport-Security'))"
)


def test_the_proxy_ssl_header_setting_is_what_marks_a_request_https(tmp_path: Path) -> None:
    """Behind the proxy a request it marks https is served (with HSTS) and an unmarked one is redirected;
    without TUCO_PROXY_SSL_HEADER the mark is not trusted and both are redirected."""
    key = secrets.token_urlsafe(50)
    behind_proxy = _manage("shell", "-c", PROXY_PROBE, var_dir=tmp_path, SECRET_KEY=key, **PRODUCTION)
    assert behind_proxy.stdout.split()[-3:] == ["301", "404", "True"], behind_proxy.stdout + behind_proxy.stderr
    no_header = {k: v for k, v in PRODUCTION.items() if k != "TUCO_PROXY_SSL_HEADER"}
    untrusted = _manage("shell", "-c", PROXY_PROBE, var_dir=tmp_path, SECRET_KEY=key, **no_header)
    assert untrusted.stdout.split()[-3:] == ["301", "301", "False"], untrusted.stdout + untrusted.stderr
