"""The write of POST /api/messages in one SQL statement (one round trip, one commit).

A chain of data-modifying CTEs does what message_create's transaction did statement by statement:

    claim     the duplicate guard: INSERT … ON CONFLICT on (workspace, fingerprint); nothing below runs
              unless this request holds the claim
    found     the lead: the given one (leadId), else the workspace's lead with the recipient's phone (else
              email), oldest first — leads.services.lead_resolve_for_send's rule
    merged    what the send states about that lead: alternates and CRM links overwrite, an empty phone,
              email or name is filled in (leads.services._merge's rule); no write when nothing changes
    new_lead  else a new Quick Sends lead (ON CONFLICT DO NOTHING: a concurrent send may create it first)
    thread    the conversation, upserted; it keeps its sticky line while that line is a candidate
    message   the row, on the thread's line (or the pinned one), CRM links copied from the lead
    event     its first timeline entry

Why SQL here: the house style is the ORM, but this is the hottest path of the product and the issue 18
benchmark measures it against a floor that does one INSERT; eight statements were eight round trips
and eight ORM compilations (docs/performance.md). The rules stay in the Python modules named above for
every other caller; tests/messaging/test_create_sql.py holds this statement to the same outcomes.

The outcome comes back in one row: whether the claim was taken, whether a lead was found, and the
message's columns. Two outcomes need a retry by the caller (`Written.retry`): a concurrent send created
the same new lead (our lead INSERT did nothing, so nothing else was written but the claim, which is
given back), or the claim names a message that no longer exists (the claim is dropped).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, lru_cache
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection
from django.db.models import Field, Model

from leads.models import CRM_FIELDS, Lead
from messaging.models import DedupGuard, Message, MessageEvent, Thread
from tuco.ids import new_id

LEAD_COLUMNS_READ = ("id", "first_name", "last_name", *CRM_FIELDS.values())
RETRIES = 5


@dataclass
class LeadSpec:
    """How the statement finds or makes the message's lead."""

    workspace_id: str
    lead_id: str = ""  # a given lead (already checked to exist in the workspace)
    phone: str = ""  # the body's recipient (contact-based lookup and fill-in)
    email: str = ""
    first_name: str = ""
    last_name: str = ""
    overwrite: dict[str, str] = field(default_factory=dict)  # alternates and CRM links the send states
    list_id: str = ""  # where a new lead goes (Quick Sends)


@dataclass
class LineSpec:
    """The line the message starts on: `pinned`, or the chosen `line_id` among `candidates` (the thread's
    sticky line wins while it is one of them); none for a send without a line."""

    line_id: str | None
    pinned: bool
    candidates: list[tuple[str, str, str]]  # (id, phone, email) of every line the message may start on


@dataclass
class Written:
    message: Message | None = None
    lead_existed: bool = False
    duplicate_of: str | None = None  # the claim is held by this message id
    retry: bool = False


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


# --- the statement's shape, built once per process --------------------------------------------------------
# The text depends only on which parts a send has (a given lead or a contact, which fields it states, a
# sticky or a pinned line, which columns it decides), never on the values: it is built once per shape and
# run as a server-side prepared statement, so neither Python nor PostgreSQL parses or plans it again
# (docs/performance.md: planning alone was 1 ms of the 1.4 ms the statement took). Every placeholder
# carries its type, because a prepared statement's parameters have no literal to infer it from.

@dataclass(frozen=True)
class _Shape:
    lead_given: bool
    phone: bool
    email: bool
    names: bool
    overwrite: tuple[str, ...]
    sticky: bool  # the thread's line wins while it is a candidate (else the chosen or pinned line)
    columns: tuple[str, ...]  # the Message columns the request decides


@dataclass(frozen=True)
class _Statement:
    sql: str  # $1 … $n
    names: tuple[str, ...]  # the parameter of each $k
    constants: dict[str, Any]  # column defaults, the same at every call
    per_call: dict[str, Field]  # column defaults computed at each call (a callable default)


# Parameters that are not a model column's value, by their type in the statement.
_PARAM_TYPES = {
    "ws": "varchar", "fp": "varchar", "mid": "varchar", "now": "timestamptz", "expires": "timestamptz",
    "rname": "text", "detail": "jsonb", "lead_id": "varchar", "phone": "varchar", "email": "varchar",
    "first_name": "varchar", "last_name": "varchar", "new_lead_id": "varchar", "list_id": "varchar",
    "thread_id": "varchar", "address": "varchar", "preview": "text", "line_id": "varchar",
    "candidates": "varchar[]", "c_ids": "varchar[]", "c_phones": "varchar[]", "c_emails": "varchar[]",
}
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
_VARCHAR_N = re.compile(r"^varchar\(\d+\)$")


def _cast(f: Field) -> str:
    """The column's type for a placeholder; varchar without its length (an explicit cast to varchar(n)
    would truncate where the INSERT's own assignment refuses a value too long)."""
    db_type = f.db_type(connection) or "text"
    return "varchar" if _VARCHAR_N.match(db_type) else db_type


class _Builder:
    """Collects the defaults and the type of every named placeholder while the text is written."""

    def __init__(self) -> None:
        self.types = dict(_PARAM_TYPES)
        self.constants: dict[str, Any] = {}
        self.per_call: dict[str, Field] = {}

    def column_param(self, name: str, f: Field) -> str:
        self.types[name] = _cast(f)
        return f"%({name})s"

    def insert_columns(self, model: type[Model], given: dict[str, str], prefix: str) -> tuple[str, str]:
        """(column list, value list) for INSERT … SELECT of every concrete column of `model`: `given` SQL where
        named, else the field's default as a parameter (auto_now columns: `now`), so a column added later
        needs no edit here."""
        columns, values = [], []
        for f in model._meta.concrete_fields:
            if f.primary_key and f.column not in given and not f.has_default():
                continue  # a serial id
            columns.append(_q(f.column))
            if f.column in given:
                values.append(given[f.column])
            elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                values.append("%(now)s")
            else:
                name = f"{prefix}_{f.column}"
                values.append(self.column_param(name, f))
                if callable(f.default) and f.default not in (dict, list, str):
                    self.per_call[name] = f
                else:
                    self.constants[name] = _default(f)
        return ", ".join(columns), ", ".join(values)

    def statement(self, sql: str) -> _Statement:
        names: list[str] = []

        def number(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in names:
                names.append(name)
            return f"${names.index(name) + 1}::{self.types[name]}"

        return _Statement(sql=_PLACEHOLDER.sub(number, sql), names=tuple(names), constants=self.constants,
                          per_call=self.per_call)


def _default(f: Field) -> Any:
    default = None if f.null and not f.has_default() else f.get_default()
    return f.get_db_prep_save(default, connection) if default is not None else None


def _lead_ctes(shape: _Shape, b: _Builder) -> str:
    lead = _q(Lead._meta.db_table)
    read = ", ".join(f"l.{_q(c)}" for c in LEAD_COLUMNS_READ)
    if shape.lead_given:
        where, order = "l.id = %(lead_id)s AND l.workspace_id = %(ws)s", "l.created_at"
    else:
        matches = []
        if shape.phone:
            matches.append("l.phone = %(phone)s")
        if shape.email:
            matches.append("l.email = %(email)s")
        where = f"l.workspace_id = %(ws)s AND ({' OR '.join(matches)})"
        order = "(l.phone = %(phone)s) DESC, l.created_at" if shape.phone and shape.email else "l.created_at"
    ctes = [f"found AS (SELECT {read} , l.phone, l.email FROM {lead} l WHERE {where} AND EXISTS (SELECT 1 FROM claim) "
            f"ORDER BY {order} LIMIT 1)"]
    lead_field = {f.column: f for f in Lead._meta.concrete_fields}
    sets = {column: b.column_param(f"ow_{column}", lead_field[column]) for column in shape.overwrite}
    if not shape.lead_given:
        if shape.phone:
            sets["phone"] = "CASE WHEN l.phone = '' THEN %(phone)s ELSE l.phone END"
        if shape.email:
            sets["email"] = "CASE WHEN l.email = '' THEN %(email)s ELSE l.email END"
        if shape.names:
            unnamed = "l.first_name = '' AND l.last_name = ''"
            sets["first_name"] = f"CASE WHEN {unnamed} THEN %(first_name)s ELSE l.first_name END"
            sets["last_name"] = f"CASE WHEN {unnamed} THEN %(last_name)s ELSE l.last_name END"
    if sets:
        changes = " OR ".join(f"({expr}) IS DISTINCT FROM l.{_q(column)}" for column, expr in sets.items())
        assignments = ", ".join(f"{_q(column)} = {expr}" for column, expr in sets.items())
        returning = ", ".join(f"l.{_q(c)}" for c in LEAD_COLUMNS_READ)
        ctes.append(f"merged AS (UPDATE {lead} l SET {assignments} FROM found WHERE l.id = found.id AND ({changes}) "
                    f"RETURNING {returning})")
    else:
        ctes.append(f"merged AS (SELECT {', '.join(LEAD_COLUMNS_READ)} FROM found WHERE false)")
    pick = ", ".join(f"COALESCE(m.{_q(c)}, f.{_q(c)}) AS {_q(c)}" for c in LEAD_COLUMNS_READ)
    union = f"SELECT {pick}, true AS existed FROM found f LEFT JOIN merged m ON m.id = f.id"
    if not shape.lead_given:
        given = {"id": "%(new_lead_id)s", "workspace_id": "%(ws)s", "list_id": "%(list_id)s",
                 "phone": "%(phone)s", "email": "%(email)s", "source": "'api'",
                 "first_name": "%(first_name)s", "last_name": "%(last_name)s"}
        for column in shape.overwrite:
            given[column] = f"%(ow_{column})s"
        columns, values = b.insert_columns(Lead, given, "nl")
        ctes.append(f"new_lead AS (INSERT INTO {lead} ({columns}) SELECT {values} "
                    "WHERE EXISTS (SELECT 1 FROM claim) AND NOT EXISTS (SELECT 1 FROM found) "
                    f"ON CONFLICT DO NOTHING RETURNING {', '.join(_q(c) for c in LEAD_COLUMNS_READ)})")
        union += f" UNION ALL SELECT {', '.join(_q(c) for c in LEAD_COLUMNS_READ)}, false FROM new_lead"
    ctes.append(f"lead AS ({union})")
    return ", ".join(ctes)


def _thread_cte(shape: _Shape) -> str:
    thread = _q(Thread._meta.db_table)
    if shape.sticky:
        # The recipient keeps its line while that line may send this message; else it moves to the chosen one.
        sticky = "CASE WHEN t.line_id = ANY(%(candidates)s) THEN t.line_id ELSE EXCLUDED.line_id END"
    else:
        sticky = "COALESCE(t.line_id, EXCLUDED.line_id)"
    return (f"thread AS (INSERT INTO {thread} AS t (id, workspace_id, address, lead_id, line_id, last_message_at, "
            "last_message_preview, last_direction, unread_count, created_at) "
            "SELECT %(thread_id)s, %(ws)s, %(address)s, lead.id, %(line_id)s, %(now)s, %(preview)s, 'outbound', 0, "
            "%(now)s FROM lead "
            "ON CONFLICT (workspace_id, address) DO UPDATE SET lead_id = COALESCE(t.lead_id, EXCLUDED.lead_id), "
            f"line_id = {sticky}, last_message_at = GREATEST(t.last_message_at, EXCLUDED.last_message_at), "
            "last_message_preview = EXCLUDED.last_message_preview, last_direction = EXCLUDED.last_direction "
            "RETURNING id, line_id)")


@lru_cache(maxsize=256)
def _statement(shape: _Shape) -> _Statement:
    b = _Builder()
    line_expr = "thread.line_id" if shape.sticky else "%(line_id)s"
    given = {column: b.column_param(f"m_{column}", _message_field(column)) for column in shape.columns}
    given.update({
        "lead_id": "lead.id", "thread_id": "thread.id", "line_id": line_expr,
        "from_line_phone": "COALESCE(c.phone, '')", "from_line_email": "COALESCE(c.email, '')",
        "recipient_name": "COALESCE(NULLIF(%(rname)s, ''), concat_ws(' ', NULLIF(lead.first_name, ''), "
                          "NULLIF(lead.last_name, '')))",
        **{column: f"lead.{_q(column)}" for column in CRM_FIELDS.values()},
    })
    lead_ctes = _lead_ctes(shape, b)
    columns, values = b.insert_columns(Message, given, "md")
    returned = ", ".join(f"message.{_q(f.column)}" for f in Message._meta.concrete_fields)
    guard, event, table = (_q(m._meta.db_table) for m in (DedupGuard, MessageEvent, Message))
    return b.statement(
        f"WITH claim AS (INSERT INTO {guard} (workspace_id, fingerprint, message_id, created_at, expires_at) "
        "VALUES (%(ws)s, %(fp)s, %(mid)s, %(now)s, %(expires)s) "
        "ON CONFLICT (workspace_id, fingerprint) DO UPDATE SET message_id = EXCLUDED.message_id, "
        "created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at "
        f"WHERE {guard}.expires_at <= EXCLUDED.created_at RETURNING 1), "
        f"{lead_ctes}, {_thread_cte(shape)}, "
        "c AS (SELECT * FROM unnest(%(c_ids)s, %(c_phones)s, %(c_emails)s) AS c(id, phone, email)), "
        f"message AS (INSERT INTO {table} ({columns}) SELECT {values} FROM lead CROSS JOIN thread "
        f"LEFT JOIN c ON c.id = {line_expr} RETURNING *), "
        f"event AS (INSERT INTO {event} (message_id, at, from_status, to_status, reason, detail) "
        "SELECT id, %(now)s, '', status, 'created', %(detail)s FROM message RETURNING 1) "
        "SELECT (SELECT count(*) FROM claim), (SELECT bool_or(existed) FROM lead), (SELECT count(*) FROM event), "
        f"{returned} FROM (SELECT 1) AS one LEFT JOIN message ON true"
    )


class _PreparedCursor(psycopg.RawCursor):
    """psycopg's cursor for $n statements with server-side parameters, prepared on first use in each
    connection when DB_PREPARED_STATEMENTS is on (behind pgbouncer it needs ≥ 1.21 with
    max_prepared_statements: docs/deployment.md)."""

    def execute(self, query: Any, params: Any = None, *, prepare: bool | None = None,  # type: ignore[override]
                binary: bool | None = None) -> Any:
        return super().execute(query, params, prepare=settings.DB_PREPARED_STATEMENTS, binary=binary)

    def _send_query_prepared(self, name: bytes, pgq: Any, *, binary: bool | None = None) -> None:
        # psycopg 3.3 records the query it ran only on the unprepared path; Django's query log (and
        # CaptureQueriesContext) reads it back from there.
        self._query = pgq
        super()._send_query_prepared(name, pgq, binary=binary)


def _cursor() -> Any:
    """A Django cursor (errors translated, queries logged where Django logs them) over _PreparedCursor."""
    connection.ensure_connection()
    raw = _PreparedCursor(connection.connection)
    return connection.make_debug_cursor(raw) if connection.queries_logged else connection.make_cursor(raw)


def write_message(*, message: dict[str, Any], lead: LeadSpec, line: LineSpec, fingerprint: str, expires_at: datetime,
                  recipient_name: str, preview: str, event_detail: dict[str, Any], now: datetime) -> Written:
    """One statement: claim, lead, thread, message, event. `message`: Message column → value for every column
    the request decides (the others take their defaults; lead, thread and line come from the statement)."""
    shape = _Shape(lead_given=bool(lead.lead_id), phone=bool(lead.phone), email=bool(lead.email),
                   names=bool(lead.first_name or lead.last_name), overwrite=tuple(lead.overwrite),
                   sticky=not (line.pinned or line.line_id is None), columns=tuple(message))
    statement = _statement(shape)
    ids, phones, emails = ([c[i] for c in line.candidates] for i in range(3))
    params: dict[str, Any] = {
        **statement.constants,
        "ws": lead.workspace_id, "now": now, "fp": fingerprint, "mid": message["id"], "expires": expires_at,
        "rname": recipient_name, "detail": json.dumps(event_detail), "lead_id": lead.lead_id, "phone": lead.phone,
        "email": lead.email, "first_name": lead.first_name, "last_name": lead.last_name, "new_lead_id": new_id(),
        "list_id": lead.list_id, "thread_id": new_id(), "address": message["send_to_address"], "preview": preview,
        "line_id": line.line_id, "candidates": ids, "c_ids": ids, "c_phones": phones, "c_emails": emails,
    }
    for column, value in message.items():
        params[f"m_{column}"] = _message_field(column).get_db_prep_save(value, connection)
    for column, value in lead.overwrite.items():
        params[f"ow_{column}"] = value
    for name, f in statement.per_call.items():
        params[name] = _default(f)
    with _cursor() as cursor:
        cursor.execute(statement.sql, [params[name] for name in statement.names])
        row = cursor.fetchone()
    claimed, lead_existed, events = row[0], bool(row[1]), row[2]
    if not claimed:
        return _held_claim(lead.workspace_id, fingerprint)
    if row[3] is None or not events:
        # A concurrent send created the same new lead first: only the claim was written; give it back.
        _release_claim(lead.workspace_id, fingerprint, message["id"])
        return Written(retry=True)
    return Written(message=_from_row(row[3:]), lead_existed=lead_existed)


def _release_claim(workspace_id: str, fingerprint: str, message_id: str) -> None:
    guard = _q(DedupGuard._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {guard} WHERE workspace_id = %s AND fingerprint = %s AND message_id = %s",
                       [workspace_id, fingerprint, message_id])


def _held_claim(workspace_id: str, fingerprint: str) -> Written:
    guard, table = _q(DedupGuard._meta.db_table), _q(Message._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT g.message_id, EXISTS (SELECT 1 FROM {table} m WHERE m.id = g.message_id) "
                       f"FROM {guard} g WHERE g.workspace_id = %s AND g.fingerprint = %s", [workspace_id, fingerprint])
        held = cursor.fetchone()
    if held is None:
        return Written(retry=True)  # it expired and went between the two statements
    original_id, exists = held
    if exists:
        return Written(duplicate_of=original_id)
    # The claim names a message that no longer exists (deleted): drop it and claim again.
    _release_claim(workspace_id, fingerprint, original_id)
    return Written(retry=True)


@cache
def _message_field(column: str) -> Field:
    """Message's field for a column name (the request path asks for ~25 of them per send)."""
    return next(f for f in Message._meta.concrete_fields if f.column == column)


def _from_row(values: tuple[Any, ...]) -> Message:
    """A Message from its columns as the statement returned them (the converters the ORM would apply)."""
    fields = Message._meta.concrete_fields
    converted = []
    for f, value in zip(fields, values, strict=True):
        if value is not None and hasattr(f, "from_db_value"):
            value = f.from_db_value(value, None, connection)
        converted.append(value)
    return Message.from_db(connection.alias, [f.attname for f in fields], converted)

