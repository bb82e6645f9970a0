"""Encrypted columns as a whole: encrypting plaintext rows in place (data migrations) and key rotation.

Both work on the raw column with SQL, not through the model: a historical model in a migration
would try to decrypt plaintext, and rotation must never turn a value into Python and back (a
concurrent change of the secret would be lost). Every write is a compare-and-swap on the old raw
value, so a row changed meanwhile keeps the newer value (written under the current primary key).
The tables holding secrets are small (devices, lines, fallback configs, webhook endpoints); rows
are read in pages of `BATCH` by primary key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection as default_connection
from django.db import migrations

from tuco import crypto

BATCH = 500


def _rows(cursor: Any, table: str, pk: str, column: str) -> Iterator[tuple[Any, str]]:
    q = cursor.db.ops.quote_name
    last: Any = None
    while True:
        where = f"{q(column)} <> ''" + (f" AND {q(pk)} > %s" if last is not None else "")
        cursor.execute(f"SELECT {q(pk)}, {q(column)} FROM {q(table)} WHERE {where} ORDER BY {q(pk)} LIMIT {BATCH}",
                       [last] if last is not None else [])
        page = cursor.fetchall()
        yield from page
        if len(page) < BATCH:
            return
        last = page[-1][0]


def _swap(cursor: Any, table: str, pk: str, column: str, key: Any, old: str, new: str) -> bool:
    q = cursor.db.ops.quote_name
    cursor.execute(f"UPDATE {q(table)} SET {q(column)} = %s WHERE {q(pk)} = %s AND {q(column)} = %s",
                   [new, key, old])
    return cursor.rowcount == 1


def _named(table: str, column: str, key: Any, change: Callable[[str], str | None], raw: str) -> str | None:
    """`change(raw)`, with a failure naming the row (never the value)."""
    try:
        return change(raw)
    except crypto.DecryptionError as exc:
        raise crypto.DecryptionError(f"{table}.{column} of row {key}: {exc}") from None


def _rewrite(cursor: Any, table: str, columns: Sequence[str], change: Callable[[str], str | None],
             pk: str = "id") -> int:
    changed = 0
    for column in columns:
        for key, raw in _rows(cursor, table, pk, column):
            new = _named(table, column, key, change, raw)
            if new is not None and _swap(cursor, table, pk, column, key, raw, new):
                changed += 1
    return changed


def encrypt_plaintext(cursor: Any, table: str, columns: Sequence[str]) -> int:
    """Encrypt every non-empty value that is not already one of our tokens; returns how many."""
    return _rewrite(cursor, table, columns, lambda raw: None if crypto.is_readable(raw) else crypto.encrypt(raw))


def decrypt_to_plaintext(cursor: Any, table: str, columns: Sequence[str]) -> int:
    """The reverse: every token back to its plaintext (a value no key opens raises DecryptionError)."""
    return _rewrite(cursor, table, columns, crypto.decrypt)


def encrypt_columns(table: str, columns: Sequence[str]) -> migrations.RunPython:
    """The data migration after widening `columns` of `table`: encrypt in place; the reverse decrypts."""

    def forward(apps: Any, schema_editor: Any) -> None:
        with schema_editor.connection.cursor() as cursor:
            encrypt_plaintext(cursor, table, columns)

    def backward(apps: Any, schema_editor: Any) -> None:
        with schema_editor.connection.cursor() as cursor:
            decrypt_to_plaintext(cursor, table, columns)
            # The narrowing ALTER that follows in this transaction refuses a table with queued (deferred)
            # foreign-key checks from these UPDATEs: run them now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")

    return migrations.RunPython(forward, backward)


@dataclass
class ColumnRotation:
    table: str
    column: str
    rotated: int = 0  # re-encrypted under the primary key
    current: int = 0  # already under the primary key
    changed_meanwhile: int = 0  # rewritten by someone else during the run (so already under the primary)

    def as_json(self) -> dict[str, Any]:
        return {"table": self.table, "column": self.column, "rotated": self.rotated, "current": self.current,
                "changedMeanwhile": self.changed_meanwhile}


def encrypted_columns() -> list[tuple[str, str, str]]:
    """(table, primary key column, column) of every encrypted field of every installed model."""
    from django.apps import apps

    from tuco.fields import EncryptedMixin

    return [(model._meta.db_table, model._meta.pk.column, field.column)
            for model in apps.get_models() if not model._meta.proxy
            for field in model._meta.concrete_fields if isinstance(field, EncryptedMixin)]


def encryption_keys_rotate() -> list[ColumnRotation]:
    """Re-encrypt every stored secret under the primary key of TUCO_ENCRYPTION_KEYS.

    Safe while the system runs (compare-and-swap per row) and to repeat: a second run reports
    everything `current`. A value no configured key opens stops the run with DecryptionError.
    """
    results = []
    with default_connection.cursor() as cursor:
        for table, pk, column in encrypted_columns():
            result = ColumnRotation(table=table, column=column)
            for key, raw in _rows(cursor, table, pk, column):
                if crypto.primary_opens(raw):
                    result.current += 1
                elif _swap(cursor, table, pk, column, key, raw, _named(table, column, key, crypto.rotate, raw)):
                    result.rotated += 1
                else:
                    result.changed_meanwhile += 1
            results.append(result)
    return results
