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
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

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


def _insert_columns(model: type[Model], given: dict[str, str], params: dict[str, Any], prefix: str,
                    now: datetime) -> tuple[str, str]:
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
            continue
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            default: Any = now
        else:
            default = None if f.null and not f.has_default() else f.get_default()
        name = f"{prefix}_{f.column}"
        params[name] = f.get_db_prep_save(default, connection) if default is not None else None
        values.append(f"%({name})s")
    return ", ".join(columns), ", ".join(values)


def _lead_ctes(spec: LeadSpec, params: dict[str, Any], now: datetime) -> str:
    lead = _q(Lead._meta.db_table)
    read = ", ".join(f"l.{_q(c)}" for c in LEAD_COLUMNS_READ)
    if spec.lead_id:
        params["lead_id"] = spec.lead_id
        where, order = "l.id = %(lead_id)s AND l.workspace_id = %(ws)s", "l.created_at"
    else:
        matches = []
        if spec.phone:
            matches.append("l.phone = %(phone)s")
        if spec.email:
            matches.append("l.email = %(email)s")
        where = f"l.workspace_id = %(ws)s AND ({' OR '.join(matches)})"
        order = "(l.phone = %(phone)s) DESC, l.created_at" if spec.phone and spec.email else "l.created_at"
    ctes = [f"found AS (SELECT {read} , l.phone, l.email FROM {lead} l WHERE {where} AND EXISTS (SELECT 1 FROM claim) "
            f"ORDER BY {order} LIMIT 1)"]
    sets = {}
    for column, value in spec.overwrite.items():
        params[f"ow_{column}"] = value
        sets[column] = f"%(ow_{column})s"
    if not spec.lead_id:
        if spec.phone:
            sets["phone"] = "CASE WHEN l.phone = '' THEN %(phone)s ELSE l.phone END"
        if spec.email:
            sets["email"] = "CASE WHEN l.email = '' THEN %(email)s ELSE l.email END"
        if spec.first_name or spec.last_name:
            params["first_name"], params["last_name"] = spec.first_name, spec.last_name
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
    if not spec.lead_id:
        params["new_lead_id"], params["list_id"] = new_id(), spec.list_id
        given = {"id": "%(new_lead_id)s", "workspace_id": "%(ws)s", "list_id": "%(list_id)s",
                 "phone": "%(phone)s", "email": "%(email)s", "source": "'api'"}
        params.setdefault("phone", spec.phone)
        params.setdefault("email", spec.email)
        params["first_name"], params["last_name"] = spec.first_name, spec.last_name
        given.update(first_name="%(first_name)s", last_name="%(last_name)s")
        for column in spec.overwrite:
            given[column] = f"%(ow_{column})s"
        columns, values = _insert_columns(Lead, given, params, "nl", now)
        ctes.append(f"new_lead AS (INSERT INTO {lead} ({columns}) SELECT {values} "
                    "WHERE EXISTS (SELECT 1 FROM claim) AND NOT EXISTS (SELECT 1 FROM found) "
                    f"ON CONFLICT DO NOTHING RETURNING {', '.join(_q(c) for c in LEAD_COLUMNS_READ)})")
        union += f" UNION ALL SELECT {', '.join(_q(c) for c in LEAD_COLUMNS_READ)}, false FROM new_lead"
    ctes.append(f"lead AS ({union})")
    return ", ".join(ctes)


def _thread_cte(*, address: str, preview: str, line: LineSpec, params: dict[str, Any], now: datetime) -> str:
    thread = _q(Thread._meta.db_table)
    params.update(thread_id=new_id(), address=address, preview=preview, line_id=line.line_id,
                  candidates=[c[0] for c in line.candidates])
    if line.pinned or line.line_id is None:
        sticky = "COALESCE(t.line_id, EXCLUDED.line_id)"
    else:
        # The recipient keeps its line while that line may send this message; else it moves to the chosen one.
        sticky = "CASE WHEN t.line_id = ANY(%(candidates)s::varchar[]) THEN t.line_id ELSE EXCLUDED.line_id END"
    return (f"thread AS (INSERT INTO {thread} AS t (id, workspace_id, address, lead_id, line_id, last_message_at, "
            "last_message_preview, last_direction, unread_count, created_at) "
            "SELECT %(thread_id)s, %(ws)s, %(address)s, lead.id, %(line_id)s, %(now)s, %(preview)s, 'outbound', 0, "
            "%(now)s FROM lead "
            "ON CONFLICT (workspace_id, address) DO UPDATE SET lead_id = COALESCE(t.lead_id, EXCLUDED.lead_id), "
            f"line_id = {sticky}, last_message_at = GREATEST(t.last_message_at, EXCLUDED.last_message_at), "
            "last_message_preview = EXCLUDED.last_message_preview, last_direction = EXCLUDED.last_direction "
            "RETURNING id, line_id)")


def write_message(*, message: dict[str, Any], lead: LeadSpec, line: LineSpec, fingerprint: str, expires_at: datetime,
                  recipient_name: str, preview: str, event_detail: dict[str, Any], now: datetime) -> Written:
    """One statement: claim, lead, thread, message, event. `message`: Message column → value for every column
    the request decides (the others take their defaults; lead, thread and line come from the statement)."""
    params: dict[str, Any] = {"ws": lead.workspace_id, "now": now, "fp": fingerprint, "mid": message["id"],
                              "expires": expires_at, "rname": recipient_name,
                              "detail": json.dumps(event_detail)}
    ids, phones, emails = ([c[i] for c in line.candidates] for i in range(3))
    params.update(c_ids=ids, c_phones=phones, c_emails=emails)
    line_expr = "%(line_id)s" if line.pinned or line.line_id is None else "thread.line_id"
    given = {column: f"%(m_{column})s" for column in message}
    for column, value in message.items():
        params[f"m_{column}"] = _message_field(column).get_db_prep_save(value, connection)
    given.update({
        "lead_id": "lead.id", "thread_id": "thread.id", "line_id": line_expr,
        "from_line_phone": "COALESCE(c.phone, '')", "from_line_email": "COALESCE(c.email, '')",
        "recipient_name": "COALESCE(NULLIF(%(rname)s, ''), concat_ws(' ', NULLIF(lead.first_name, ''), "
                          "NULLIF(lead.last_name, '')))",
        **{column: f"lead.{_q(column)}" for column in CRM_FIELDS.values()},
    })
    columns, values = _insert_columns(Message, given, params, "md", now)
    fields = Message._meta.concrete_fields
    returned = ", ".join(f"message.{_q(f.column)}" for f in fields)
    guard, event, table = (_q(m._meta.db_table) for m in (DedupGuard, MessageEvent, Message))
    sql = (
        f"WITH claim AS (INSERT INTO {guard} (workspace_id, fingerprint, message_id, created_at, expires_at) "
        "VALUES (%(ws)s, %(fp)s, %(mid)s, %(now)s, %(expires)s) "
        "ON CONFLICT (workspace_id, fingerprint) DO UPDATE SET message_id = EXCLUDED.message_id, "
        "created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at "
        f"WHERE {guard}.expires_at <= EXCLUDED.created_at RETURNING 1), "
        f"{_lead_ctes(lead, params, now)}, "
        f"{_thread_cte(address=message['send_to_address'], preview=preview, line=line, params=params, now=now)}, "
        "c AS (SELECT * FROM unnest(%(c_ids)s::varchar[], %(c_phones)s::varchar[], %(c_emails)s::varchar[]) "
        "AS c(id, phone, email)), "
        f"message AS (INSERT INTO {table} ({columns}) SELECT {values} FROM lead CROSS JOIN thread "
        f"LEFT JOIN c ON c.id = {line_expr} RETURNING *), "
        f"event AS (INSERT INTO {event} (message_id, at, from_status, to_status, reason, detail) "
        "SELECT id, %(now)s, '', status, 'created', %(detail)s::jsonb FROM message RETURNING 1) "
        "SELECT (SELECT count(*) FROM claim), (SELECT bool_or(existed) FROM lead), (SELECT count(*) FROM event), "
        f"{returned} FROM (SELECT 1) AS one LEFT JOIN message ON true"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
        claimed, lead_existed, events = row[0], bool(row[1]), row[2]
        if not claimed:
            return _held_claim(cursor, lead.workspace_id, fingerprint)
        if row[3] is None or not events:
            # A concurrent send created the same new lead first: only the claim was written; give it back.
            cursor.execute(f"DELETE FROM {guard} WHERE workspace_id = %s AND fingerprint = %s AND message_id = %s",
                           [lead.workspace_id, fingerprint, message["id"]])
            return Written(retry=True)
    return Written(message=_from_row(row[3:]), lead_existed=lead_existed)


def _held_claim(cursor: Any, workspace_id: str, fingerprint: str) -> Written:
    guard, table = _q(DedupGuard._meta.db_table), _q(Message._meta.db_table)
    cursor.execute(f"SELECT g.message_id, EXISTS (SELECT 1 FROM {table} m WHERE m.id = g.message_id) "
                   f"FROM {guard} g WHERE g.workspace_id = %s AND g.fingerprint = %s", [workspace_id, fingerprint])
    held = cursor.fetchone()
    if held is None:
        return Written(retry=True)  # it expired and went between the two statements
    original_id, exists = held
    if exists:
        return Written(duplicate_of=original_id)
    # The claim names a message that no longer exists (deleted): drop it and claim again.
    cursor.execute(f"DELETE FROM {guard} WHERE workspace_id = %s AND fingerprint = %s AND message_id = %s",
                   [workspace_id, fingerprint, original_id])
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

