"""Small SQL helpers the ORM lacks: insert-or-nothing with a known outcome."""

from __future__ import annotations

from django.db import connection, models


def insert_or_nothing(obj: models.Model) -> bool:
    """INSERT obj … ON CONFLICT DO NOTHING; True when this call inserted the row.

    One round trip and no savepoint, unlike create() + IntegrityError. The
    primary key must be set client-side (our 24-hex ids are).
    """
    meta = obj._meta
    fields = [f for f in meta.concrete_fields if not (f.primary_key and getattr(obj, f.attname) is None)]
    columns = ", ".join(f'"{f.column}"' for f in fields)
    values = [f.get_db_prep_save(f.pre_save(obj, add=True), connection) for f in fields]
    placeholders = ", ".join(["%s"] * len(fields))
    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{meta.db_table}" ({columns}) VALUES ({placeholders}) ON CONFLICT DO NOTHING', values
        )
        inserted = cursor.rowcount == 1
    if inserted:
        obj._state.adding = False
    return inserted
