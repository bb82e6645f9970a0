"""Saving checked lead rows: one multi-row INSERT … ON CONFLICT DO NOTHING per batch, duplicates matched
to the lead that already holds the phone or email (the database decides, so concurrent imports agree)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from leads.lead_fields import BATCH_SIZE, LeadRow
from leads.models import Lead, LeadList
from tuco.db import insert_or_nothing
from tuco.ids import new_id
from tuco.logging import get_logger
from tuco.models import Workspace

log = get_logger(__name__)


@dataclass
class Outcome:
    """What happened to one valid row: a new lead, or the existing lead it duplicated."""

    position: int
    row: LeadRow
    lead_id: str
    created: bool
    existing: Lead | None = None


_INSERT_FIELDS = list(Lead._meta.concrete_fields)
_TIMESTAMPS = {"created_at", "updated_at"}


@functools.cache
def _insert_sql() -> str:
    # One array parameter per column, unnested into rows: a 500-row batch is 24 parameters, not 12,000,
    # which keeps both psycopg and the planner fast on large imports.
    columns = ", ".join(f'"{f.column}"' for f in _INSERT_FIELDS)
    arrays = ", ".join(f"%s::{'text' if f.get_internal_type() == 'JSONField' else f.db_type(connection)}[]"
                       for f in _INSERT_FIELDS)
    names = [f"c{i}" for i in range(len(_INSERT_FIELDS))]
    select = ", ".join(f"{name}::jsonb" if f.get_internal_type() == "JSONField" else name
                       for name, f in zip(names, _INSERT_FIELDS, strict=True))
    return (f'INSERT INTO "{Lead._meta.db_table}" ({columns}) SELECT {select} FROM unnest({arrays}) '
            f'AS t({", ".join(names)}) ON CONFLICT DO NOTHING RETURNING "id"')


_DEFAULTS = {f.attname: f.get_default() for f in _INSERT_FIELDS}


def _insert_many(rows: list[tuple[str, LeadRow]], *, workspace_id: str, list_id: str, source: str) -> set[str]:
    """One INSERT … ON CONFLICT DO NOTHING RETURNING id for (new id, row) pairs; the ids that went in."""
    if not rows:
        return set()
    now = timezone.now()
    fixed = {"workspace_id": workspace_id, "list_id": list_id, "source": source, "created_at": now,
             "updated_at": now}
    columns: list[list[Any]] = []
    for f in _INSERT_FIELDS:
        name = f.attname
        if name == "id":
            columns.append([lead_id for lead_id, _ in rows])
        elif name in fixed:
            columns.append([fixed[name]] * len(rows))
        elif f.get_internal_type() == "JSONField":
            columns.append([json.dumps(row.values.get(name, {}), ensure_ascii=False) for _, row in rows])
        else:
            columns.append([row.values.get(name, _DEFAULTS[name]) for _, row in rows])
    connection.ensure_connection()
    # A plain psycopg cursor binds the arrays server-side (binary); Django's client-side binding would
    # quote every value into the SQL text, which dominates the cost of a large import.
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(_insert_sql(), columns)
        return {row[0] for row in cursor.fetchall()}


def _existing_in_list(list_id: str, rows: list[LeadRow]) -> tuple[dict[str, Lead], dict[str, Lead]]:
    """The leads of the list holding these rows' phones / emails: one probe of each unique index."""
    phones = {r.phone for r in rows if r.phone}
    emails = {r.email for r in rows if r.email}
    fields = ("id", "first_name", "last_name", "phone", "email")
    by_phone: dict[str, Lead] = {}
    by_email: dict[str, Lead] = {}
    # `<> ''` repeats the partial indexes' condition so the planner can use them for long IN lists.
    if phones:
        for lead in Lead.objects.filter(list_id=list_id, phone__in=phones).exclude(phone="").only(*fields):
            by_phone[lead.phone] = lead
    if emails:
        for lead in Lead.objects.filter(list_id=list_id, email__in=emails).exclude(email="").only(*fields):
            by_email[lead.email] = lead
    return by_phone, by_email


class LeadSaver:
    """Feeds valid rows into one list in batches; reports an Outcome per row through `on_outcome`."""

    def __init__(self, *, workspace: Workspace, lead_list: LeadList, source: str,
                 on_outcome: Callable[[Outcome], None], batch_size: int = BATCH_SIZE) -> None:
        self.workspace = workspace
        self.lead_list = lead_list
        self.source = source
        self.on_outcome = on_outcome
        self.batch_size = batch_size
        self._pending: list[tuple[int, LeadRow]] = []

    def add(self, position: int, row: LeadRow) -> None:
        self._pending.append((position, row))
        if len(self._pending) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        batch, self._pending = self._pending, []
        if batch:
            self._save_batch(batch)

    def _lead(self, row: LeadRow) -> Lead:
        return Lead(workspace=self.workspace, list=self.lead_list, source=self.source, **row.values)

    def _save_batch(self, batch: list[tuple[int, LeadRow]]) -> None:
        # Rows sharing a phone or email with an earlier row of this batch stay out of the INSERT: they
        # resolve to whichever lead holds that contact afterwards, so the first occurrence wins.
        seen: set[str] = set()
        first: list[tuple[int, LeadRow, str]] = []
        later: list[tuple[int, LeadRow]] = []
        for position, row in batch:
            keys = {k for k in (f"p:{row.phone}" if row.phone else "", f"e:{row.email}" if row.email else "") if k}
            if keys & seen:
                later.append((position, row))
            else:
                seen |= keys
                first.append((position, row, new_id()))
        # A stable lock order keeps two concurrent imports of overlapping rows from deadlocking each other.
        ordered = sorted(first, key=lambda item: (item[1].phone, item[1].email))
        inserted = self._insert_with_retry([(lead_id, row) for _, row, lead_id in ordered])
        outcomes: dict[int, Outcome] = {}
        unresolved: list[tuple[int, LeadRow]] = list(later)
        for position, row, lead_id in first:
            if lead_id in inserted:
                outcomes[position] = Outcome(position, row, lead_id, created=True)
            else:
                unresolved.append((position, row))
        for attempt in range(3):
            if not unresolved:
                break
            by_phone, by_email = _existing_in_list(self.lead_list.pk, [row for _, row in unresolved])
            still: list[tuple[int, LeadRow]] = []
            for position, row in unresolved:
                existing = by_phone.get(row.phone) if row.phone else None
                existing = existing or (by_email.get(row.email) if row.email else None)
                if existing is not None:
                    outcomes[position] = Outcome(position, row, existing.pk, created=False, existing=existing)
                elif attempt < 2:
                    # The lead it collided with was deleted in between, or it only matched a row of this
                    # batch that itself was a duplicate: insert it on its own.
                    lead = self._lead(row)
                    if insert_or_nothing(lead):
                        outcomes[position] = Outcome(position, row, lead.pk, created=True)
                    else:
                        still.append((position, row))
                else:
                    still.append((position, row))
            unresolved = still
        for position, row in unresolved:  # pragma: no cover - needs a delete racing every retry
            raise RuntimeError(f"lead row {position} could not be saved or matched: {row.phone or row.email}")
        for position in sorted(outcomes):
            self.on_outcome(outcomes[position])

    def _insert_with_retry(self, rows: list[tuple[str, LeadRow]]) -> set[str]:
        for attempt in range(3):
            try:
                with transaction.atomic():
                    return _insert_many(rows, workspace_id=self.workspace.pk, list_id=self.lead_list.pk,
                                        source=self.source)
            except (OperationalError, psycopg.errors.DeadlockDetected) as exc:  # the statement rolled back whole
                cause = exc if isinstance(exc, psycopg.Error) else exc.__cause__
                if getattr(cause, "sqlstate", None) != "40P01" or attempt == 2:
                    raise
                log.warning("leads.insert.deadlock_retry", attempt=attempt + 1)
        raise AssertionError("unreachable")


def existing_summary(lead: Lead) -> dict[str, Any]:
    return {"_id": lead.pk, "firstName": lead.first_name or None, "lastName": lead.last_name or None,
            "email": lead.email or None, "phone": lead.phone or None}
