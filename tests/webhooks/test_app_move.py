"""The outgoing-webhook models moved from the tuco app to their own app by state only: the same tables,
the rows untouched, their content types (and so the Operators' permissions) carried over, and back."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.factories import WorkspaceFactory
from webhooks.models import WebhookEndpoint

TABLES = ["tuco_webhookendpoint", "tuco_webhookevent", "tuco_webhookdelivery"]
BEFORE_THE_MOVE = [("webhooks", None)]  # unapplies the move (and tuco 0004, which follows it)


def _migrate(targets: list[tuple[str, str]]) -> None:
    MigrationExecutor(connection).migrate(targets)


def _latest() -> list[tuple[str, str]]:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def _files() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, relfilenode FROM pg_class WHERE relname = ANY(%s)", [TABLES])
        return dict(cursor.fetchall())


@pytest.mark.django_db(transaction=True)
def test_the_move_keeps_tables_rows_and_permissions() -> None:
    workspace = WorkspaceFactory()
    try:
        _migrate(BEFORE_THE_MOVE)
        old = MigrationExecutor(connection).loader.project_state(("tuco", "0003_encrypt_webhook_secrets")).apps
        assert old.get_model("tuco", "WebhookEndpoint")._meta.db_table == "tuco_webhookendpoint"
        ContentType.objects.filter(app_label="webhooks").delete()
        moved_type, _ = ContentType.objects.get_or_create(app_label="tuco", model="webhookendpoint")
        permission = Permission.objects.create(content_type=moved_type, codename="view_webhookendpoint_x",
                                               name="view endpoints")
        group = Group.objects.create(name="Operators-test")
        group.permissions.add(permission)
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO tuco_webhookendpoint (id, workspace_id, name, description, url, secret, "
                           "events, is_active, paused_by, paused_reason, failure_count, created_at, "
                           "updated_at) VALUES ('0123456789abcdef01234567', %s, 'crm', '', 'https://x.example', "
                           "'', '[]', true, '', '', 0, now(), now())", [workspace.pk])
        files = _files()

        _migrate(_latest())
        assert _files() == files  # no table was rewritten (or dropped and re-created)
        endpoint = WebhookEndpoint.objects.get(pk="0123456789abcdef01234567")
        assert endpoint.name == "crm" and endpoint._meta.app_label == "webhooks"
        moved_type.refresh_from_db()
        assert moved_type.app_label == "webhooks"  # the same row: permissions and admin history follow
        assert group.permissions.get().content_type.app_label == "webhooks"

        _migrate(BEFORE_THE_MOVE)  # and back
        moved_type.refresh_from_db()
        assert moved_type.app_label == "tuco" and _files() == files
    finally:
        _migrate(_latest())
