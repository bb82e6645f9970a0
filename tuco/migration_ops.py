"""Index drops for migrations on busy tables: CONCURRENTLY (the migration sets `atomic = False`), reversible."""

from __future__ import annotations

from django.db import migrations


def drop_index_concurrently(table: str, column: str, name: str, *, pattern_ops: bool = False) -> migrations.RunSQL:
    """DROP INDEX CONCURRENTLY; the reverse rebuilds it (CONCURRENTLY too) as Django had created it."""
    opclass = " varchar_pattern_ops" if pattern_ops else ""
    return migrations.RunSQL(
        f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"',
        reverse_sql=f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{name}" ON "{table}" ("{column}"{opclass})',
    )


def drop_fk_indexes(indexes: list[tuple[str, str, str]]) -> list[migrations.RunSQL]:
    """Django's single-column index of a FK and its `_like` twin, for each (table, column, index name)."""
    return [op for table, column, name in indexes
            for op in (drop_index_concurrently(table, column, name),
                       drop_index_concurrently(table, column, f"{name}_like", pattern_ops=True))]
