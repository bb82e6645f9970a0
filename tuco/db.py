"""Small database helpers: insert-or-nothing with a known outcome, a checked connection for callbacks."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.db import connection, models
from django.http import HttpRequest, HttpResponse


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


def checked_connection(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """For provider callbacks that are not retried (the relay's events, Twilio's inbound SMS, raw emails):
    test the persistent DB connection before the view runs, so a database restart cannot cost the one
    request that would have found the dropped connection (CONN_HEALTH_CHECKS is off for the API)."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if connection.connection is not None and not connection.in_atomic_block and not connection.is_usable():
            connection.close()
        return view(request, *args, **kwargs)

    return wrapped
