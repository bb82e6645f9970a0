"""Secrets at rest: the raw PostgreSQL column holds a Fernet token, never the plaintext; reads decrypt;
keys rotate; a wrong or missing key fails loudly; the migrations encrypt (and decrypt back) real rows."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.core.management import call_command
from django.db import connection, transaction
from django.test import override_settings

from fallback.models import FallbackConfig
from lines.models import Device, Line
from tests.factories import LineFactory, WorkspaceFactory
from tuco import crypto
from tuco.crypto import DecryptionError
from tuco.secret_columns import encrypted_columns
from webhooks.models import WebhookEndpoint
from webhooks.services import webhook_create

ROOT = Path(__file__).resolve().parents[2]
RELAY_PASSWORD = "relay-PLAIN-password-1"
SMTP_PASSWORD = "smtp-PLAIN-password-2"
TWILIO_TOKEN = "twilio-PLAIN-token-3"
GHL_TOKEN = "ghl-PLAIN-token-4"
FALLBACK_SECRET = "fallback-PLAIN-secret-5"

# Every secret column, and where the test world below puts a known plaintext into it.
EXPECTED_COLUMNS = {
    ("lines_device", "relay_password"), ("lines_line", "webhook_secret"), ("lines_line", "smtp_password"),
    ("fallback_fallbackconfig", "twilio_auth_token"), ("fallback_fallbackconfig", "ghl_api_token"),
    ("fallback_fallbackconfig", "webhook_secret"), ("tuco_webhookendpoint", "secret"),
}


def _world() -> dict[tuple[str, str], tuple[Any, str]]:
    """One row per secret column: {(table, column): (pk, plaintext)}."""
    workspace = WorkspaceFactory()
    line = LineFactory(workspace=workspace, device__relay_password=RELAY_PASSWORD, smtp_password=SMTP_PASSWORD)
    config = FallbackConfig.objects.create(workspace=workspace, provider="twilio", twilio_auth_token=TWILIO_TOKEN,
                                           ghl_api_token=GHL_TOKEN, webhook_secret=FALLBACK_SECRET)
    endpoint = webhook_create(workspace=workspace, url="https://hooks.example.com/in", events=["message.sent"],
                              name="crm")
    return {
        ("lines_device", "relay_password"): (line.device_id, RELAY_PASSWORD),
        ("lines_line", "webhook_secret"): (line.pk, line.webhook_secret),
        ("lines_line", "smtp_password"): (line.pk, SMTP_PASSWORD),
        ("fallback_fallbackconfig", "twilio_auth_token"): (config.pk, TWILIO_TOKEN),
        ("fallback_fallbackconfig", "ghl_api_token"): (config.pk, GHL_TOKEN),
        ("fallback_fallbackconfig", "webhook_secret"): (config.pk, FALLBACK_SECRET),
        ("tuco_webhookendpoint", "secret"): (endpoint.pk, endpoint.secret),
    }


def _raw(table: str, column: str, pk: Any) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT "{column}" FROM "{table}" WHERE id = %s', [pk])
        return cursor.fetchone()[0]


def _reload_all() -> list[Any]:
    """Every row of every model with a secret, read through the ORM (decrypting)."""
    return [*Device.objects.all(), *Line.objects.all(), *FallbackConfig.objects.all(), *WebhookEndpoint.objects.all()]


def test_every_secret_column_is_encrypted() -> None:
    assert {(table, column) for table, _, column in encrypted_columns()} == EXPECTED_COLUMNS


@pytest.mark.django_db
def test_raw_columns_hold_tokens_and_reads_decrypt() -> None:
    world = _world()
    for (table, column), (pk, plaintext) in world.items():
        raw = _raw(table, column, pk)
        assert plaintext not in raw, (table, column)
        assert raw.startswith("gAAAAA") and crypto.decrypt(raw) == plaintext
    line = Line.objects.select_related("device").get()
    config, endpoint = FallbackConfig.objects.get(), WebhookEndpoint.objects.get()
    assert (line.device.relay_password, line.smtp_password) == (RELAY_PASSWORD, SMTP_PASSWORD)
    assert (config.twilio_auth_token, config.ghl_api_token, config.webhook_secret) == (
        TWILIO_TOKEN, GHL_TOKEN, FALLBACK_SECRET)
    assert line.webhook_secret == world[("lines_line", "webhook_secret")][1]
    assert endpoint.secret == world[("tuco_webhookendpoint", "secret")][1]
    assert Device.objects.values_list("relay_password", flat=True).get() == RELAY_PASSWORD


@pytest.mark.django_db
def test_update_and_empty_values() -> None:
    line = LineFactory()
    Device.objects.filter(pk=line.device_id).update(relay_password="changed-PLAIN")
    assert "changed-PLAIN" not in _raw("lines_device", "relay_password", line.device_id)
    assert Device.objects.get(pk=line.device_id).relay_password == "changed-PLAIN"
    # "not set" is stored as the empty string (the admin and the API say whether a secret is set anyway)
    assert _raw("lines_line", "smtp_password", line.pk) == "" and Line.objects.get(pk=line.pk).smtp_password == ""


@pytest.mark.django_db
def test_each_write_is_a_fresh_token() -> None:
    first, second = crypto.encrypt("same"), crypto.encrypt("same")
    assert first != second and crypto.decrypt(first) == crypto.decrypt(second) == "same"


@pytest.mark.django_db
def test_lookups_by_secret_value_are_refused() -> None:
    line = LineFactory()
    with pytest.raises(FieldError, match="encrypted"):
        Line.objects.filter(webhook_secret=line.webhook_secret).exists()
    with pytest.raises(FieldError, match="encrypted"):
        list(FallbackConfig.objects.filter(twilio_auth_token__startswith="x"))
    assert Line.objects.filter(webhook_secret__isnull=False).count() == 1


@pytest.mark.django_db
def test_wrong_key_fails_loudly() -> None:
    _world()
    with override_settings(TUCO_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]):
        for queryset in (Device.objects.all(), Line.objects.all(), FallbackConfig.objects.all(),
                         WebhookEndpoint.objects.all()):
            with pytest.raises(DecryptionError) as caught:
                list(queryset)
            assert RELAY_PASSWORD not in str(caught.value) and "TUCO_ENCRYPTION_KEYS" in str(caught.value)


@pytest.mark.django_db
def test_plaintext_written_behind_our_back_fails_loudly() -> None:
    line = LineFactory()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE lines_device SET relay_password = 'sneaky-plain' WHERE id = %s", [line.device_id])
    with pytest.raises(DecryptionError):
        Device.objects.get(pk=line.device_id)


@pytest.mark.django_db
def test_missing_key_fails_loudly() -> None:
    with override_settings(TUCO_ENCRYPTION_KEYS=[]), \
            pytest.raises(ImproperlyConfigured, match="TUCO_ENCRYPTION_KEYS"), transaction.atomic():
        LineFactory()
    assert not Device.objects.exists()


def _rotate() -> dict[str, Any]:
    out = StringIO()
    call_command("rotate_encryption_keys", "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_rotation_old_key_still_decrypts_then_everything_moves_to_the_new_key() -> None:
    old_key = os.environ["TUCO_ENCRYPTION_KEYS"]  # the test key every row below is written with
    new_key = Fernet.generate_key().decode()
    world = _world()
    with override_settings(TUCO_ENCRYPTION_KEYS=[new_key, old_key]):
        # The old key still opens every row written before the rotation...
        assert len(_reload_all()) == 4
        # ...a new write already uses the new key...
        Device.objects.update(relay_password=RELAY_PASSWORD)
        assert Fernet(new_key).decrypt(_raw("lines_device", "relay_password", world[("lines_device",
                                                                                    "relay_password")][0]).encode())
        report = _rotate()
        assert report["rotated"] == len(world) - 1 and report["current"] == 1
        for (table, column), (pk, plaintext) in world.items():
            assert Fernet(new_key).decrypt(_raw(table, column, pk).encode()).decode() == plaintext
        assert _rotate()["rotated"] == 0  # repeatable: nothing left under the old key
    with override_settings(TUCO_ENCRYPTION_KEYS=[new_key]):  # the old key can go now
        # Only the columns of these migrations: later migrations' columns do not exist at this point.
        line = Line.objects.select_related("device").only("smtp_password", "device__relay_password").get()
        assert line.device.relay_password == RELAY_PASSWORD and line.smtp_password == SMTP_PASSWORD
        assert FallbackConfig.objects.get().ghl_api_token == GHL_TOKEN


@pytest.mark.django_db
def test_rotation_without_the_old_key_stops_and_names_the_row() -> None:
    world = _world()
    with override_settings(TUCO_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]), \
            pytest.raises(DecryptionError) as caught:
        _rotate()
    assert any(f"{table}.{column}" in str(caught.value) for table, column in world)
    assert all(plaintext not in str(caught.value) for _, plaintext in world.values())


def test_keys_from_environment(tmp_path: Path) -> None:
    key_a, key_b = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    dev_file = tmp_path / "var" / "dev-encryption-key"
    assert crypto.keys_from_environment(f" {key_a} , {key_b},", dev_mode=False, dev_key_path=dev_file) == [
        key_a, key_b]
    with pytest.raises(ImproperlyConfigured, match="required when DEBUG is false"):
        crypto.keys_from_environment("", dev_mode=False, dev_key_path=dev_file)
    assert not dev_file.exists()
    with pytest.raises(ImproperlyConfigured, match="key #2 is not a Fernet key") as caught:
        crypto.keys_from_environment(f"{key_a},not-a-key-S3CRET", dev_mode=False, dev_key_path=dev_file)
    assert "S3CRET" not in str(caught.value)
    # Dev mode: one generated key, private to its owner, the same on every later start.
    dev = crypto.keys_from_environment("", dev_mode=True, dev_key_path=dev_file)
    assert len(dev) == 1 and Fernet(dev[0]) and stat.S_IMODE(dev_file.stat().st_mode) == 0o600
    assert crypto.keys_from_environment("", dev_mode=True, dev_key_path=dev_file) == dev


def _start_settings(**env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("TUCO_ENCRYPTION_KEYS", "DEBUG", "DJANGO_SETTINGS_MODULE")}
    return subprocess.run([sys.executable, "-c", "import django; django.setup(); print('started')"], cwd=ROOT,
                          env={**base, "DJANGO_SETTINGS_MODULE": "tuco.settings", **env}, capture_output=True,
                          text=True, timeout=60)


def test_production_refuses_to_start_without_a_key() -> None:
    refused = _start_settings(DEBUG="false")
    assert refused.returncode != 0 and "TUCO_ENCRYPTION_KEYS is required" in refused.stderr
    started = _start_settings(DEBUG="false", TUCO_ENCRYPTION_KEYS=Fernet.generate_key().decode())
    assert started.returncode == 0 and "started" in started.stdout, started.stderr


def _executor_migrate(targets: list[tuple[str, str]]) -> None:
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate(targets)


def _latest() -> list[tuple[str, str]]:
    from django.db.migrations.executor import MigrationExecutor

    return MigrationExecutor(connection).loader.graph.leaf_nodes()


BEFORE = [("lines", "0002_device_chat_guid_prefix_device_os_version_and_more"), ("fallback", "0001_initial"),
          ("tuco", "0002_webhooks")]
AFTER = [("lines", "0003_encrypt_secrets"), ("fallback", "0002_encrypt_secrets"),
         ("tuco", "0003_encrypt_webhook_secrets")]


def _relfilenodes() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, relfilenode FROM pg_class WHERE relname = ANY(%s)",
                       [sorted({table for table, _ in EXPECTED_COLUMNS})])
        return dict(cursor.fetchall())


@pytest.mark.django_db(transaction=True)
def test_migrations_encrypt_existing_rows_in_place_and_reverse_decrypts() -> None:
    world = _world()
    try:
        _executor_migrate(BEFORE)  # the reverse: back to plaintext varchar columns
        for (table, column), (pk, plaintext) in world.items():
            assert _raw(table, column, pk) == plaintext, (table, column)
        with connection.cursor() as cursor:
            cursor.execute("SELECT data_type FROM information_schema.columns "
                           "WHERE table_name = 'lines_device' AND column_name = 'relay_password'")
            assert cursor.fetchone()[0] == "character varying"
        files_before = _relfilenodes()

        _executor_migrate(AFTER)  # forward: the existing plaintext rows are encrypted in place
        for (table, column), (pk, plaintext) in world.items():
            raw = _raw(table, column, pk)
            assert plaintext not in raw and crypto.decrypt(raw) == plaintext, (table, column)
        # Widening varchar to text is binary coercible: the ALTERs rewrote no table (same files on disk).
        assert _relfilenodes() == files_before
        # Only the columns of these migrations: later migrations' columns do not exist at this point.
        line = Line.objects.select_related("device").only("smtp_password", "device__relay_password").get()
        assert line.device.relay_password == RELAY_PASSWORD and line.smtp_password == SMTP_PASSWORD
    finally:
        _executor_migrate(_latest())


@pytest.mark.django_db
def test_migration_forward_is_idempotent_on_already_encrypted_rows() -> None:
    from tuco.secret_columns import encrypt_plaintext

    world = _world()
    raw_before = {key: _raw(*key, pk) for key, (pk, _) in world.items()}
    with connection.cursor() as cursor:
        assert encrypt_plaintext(cursor, "lines_line", ["smtp_password", "webhook_secret"]) == 0
    assert {key: _raw(*key, pk) for key, (pk, _) in world.items()} == raw_before
