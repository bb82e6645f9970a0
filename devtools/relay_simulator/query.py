"""`POST /message/query` filtering: the subset of TypeORM `andWhere` SQL that clients actually send.

Each `where` item is `{statement, args}`; statements are ANDed. A statement may itself chain
conditions with AND. Supported: `<alias>.<column> <op> <value>` with op in = == != <> > >= < <=
LIKE / NOT LIKE (with optional COLLATE NOCASE), IN / NOT IN `(:...name)`, IS [NOT] NULL; values
`:name`, `(:...name)`, `NULL`, numbers and 'quoted strings'. Anything else is answered the way a
SQLite error would be: a 500 "An unhandled error has occurred!".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .store import Message

APPLE_EPOCH_MS = 978_307_200_000  # 2001-01-01: chat.db dates are nanoseconds since then


class QueryError(Exception):
    pass


def _apple_ns(ms: int | None) -> int:
    return 0 if ms is None else (ms - APPLE_EPOCH_MS) * 1_000_000


# Column readers; keys are lower-case because SQLite identifiers are case-insensitive.
COLUMNS: dict[str, Callable[[Message], Any]] = {
    "message.rowid": lambda m: m.rowid,
    "message.guid": lambda m: m.guid,
    "message.text": lambda m: m.text,
    "message.subject": lambda m: m.subject,
    "message.is_from_me": lambda m: int(m.is_from_me),
    "message.is_sent": lambda m: int(m.is_sent),
    "message.is_delivered": lambda m: int(m.is_delivered),
    "message.is_read": lambda m: int(m.date_read is not None),
    "message.error": lambda m: m.error,
    "message.handle_id": lambda m: m.handle.rowid,
    "message.service": lambda m: m.handle.service,
    "message.date": lambda m: _apple_ns(m.date_created),
    "message.date_delivered": lambda m: _apple_ns(m.date_delivered),
    "message.date_read": lambda m: _apple_ns(m.date_read),
    "handle.rowid": lambda m: m.handle.rowid,
    "handle.id": lambda m: m.handle.address,
    "handle.service": lambda m: m.handle.service,
    "chat.rowid": lambda m: m.chat.rowid,
    "chat.guid": lambda m: m.chat.guid,
    "chat.chat_identifier": lambda m: m.chat.identifier,
    "chat.service_name": lambda m: m.chat.service,
}

_COND = re.compile(
    r"^\s*(?P<col>[A-Za-z_]+\.[A-Za-z_]+)\s*"
    r"(?P<op>==|=|!=|<>|>=|<=|>|<|NOT\s+LIKE|LIKE|NOT\s+IN|IN|IS\s+NOT|IS)\s*"
    r"(?P<val>.+?)(?P<nocase>\s+COLLATE\s+NOCASE)?\s*$",
    re.IGNORECASE,
)
_AND = re.compile(r"\s+AND\s+", re.IGNORECASE)

Predicate = Callable[[Message], bool]


def _resolve(raw: str, args: dict[str, Any]) -> Any:
    raw = raw.strip()
    spread = re.fullmatch(r"\(\s*:\.\.\.(\w+)\s*\)", raw)
    if spread:
        name = spread[1]
        if name not in args:
            raise QueryError(f"SQLITE_ERROR: missing named parameter :...{name}")
        value = args[name]
        return list(value) if isinstance(value, list | tuple) else [value]
    named = re.fullmatch(r"\(?\s*:(\w+)\s*\)?", raw)
    if named:
        if named[1] not in args:
            raise QueryError(f"SQLITE_ERROR: missing named parameter :{named[1]}")
        return args[named[1]]
    if raw.upper() == "NULL":
        return None
    if re.fullmatch(r"-?\d+(\.\d+)?", raw):
        return float(raw) if "." in raw else int(raw)
    quoted = re.fullmatch(r"'((?:[^']|'')*)'", raw)
    if quoted:
        return quoted[1].replace("''", "'")
    raise QueryError(f'SQLITE_ERROR: near "{raw}": syntax error')


def _sql_value(v: Any) -> Any:
    if isinstance(v, bool):
        return int(v)
    return v


def _like(pattern: str, value: str) -> bool:
    rx = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.fullmatch(rx, value, re.IGNORECASE | re.DOTALL) is not None


def _compare(op: str, left: Any, right: Any, nocase: bool) -> bool:
    if left is None or right is None:
        return False
    if isinstance(left, str) and not isinstance(right, str):
        right = str(right)
    if isinstance(left, int | float) and isinstance(right, str):
        try:
            right = float(right)
        except ValueError:
            return False
    if nocase and isinstance(left, str):
        left, right = left.lower(), str(right).lower()
    ops: dict[str, Callable[[Any, Any], bool]] = {
        "=": lambda a, b: a == b,
        "==": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
        "<>": lambda a, b: a != b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
    }
    try:
        return ops[op](left, right)
    except TypeError:
        return False


def _condition(text: str, args: dict[str, Any]) -> Predicate:
    match = _COND.match(text)
    if not match:
        raise QueryError(f"Relay simulator cannot evaluate where statement: {text}")
    column = match["col"].lower()
    if column not in COLUMNS:
        raise QueryError(f"SQLITE_ERROR: no such column: {match['col']}")
    read = COLUMNS[column]
    op = re.sub(r"\s+", " ", match["op"].upper())
    value = _resolve(match["val"], args)
    nocase = bool(match["nocase"])

    if op in ("IN", "NOT IN"):
        choices = [_sql_value(v) for v in (value if isinstance(value, list) else [value])]
        negate = op == "NOT IN"
        return lambda m: (read(m) is not None) and ((read(m) in choices) != negate)
    if op in ("LIKE", "NOT LIKE"):
        negate = op == "NOT LIKE"
        return lambda m: read(m) is not None and _like(str(value), str(read(m))) != negate
    if op in ("IS", "IS NOT"):
        negate = op == "IS NOT"
        return lambda m: (read(m) == _sql_value(value)) != negate
    right = _sql_value(value)
    return lambda m: _compare(op, read(m), right, nocase)


def compile_where(where: list[dict[str, Any]] | None) -> Predicate:
    predicates: list[Predicate] = []
    for item in where or []:
        statement = str(item.get("statement", ""))
        args = item.get("args") if isinstance(item.get("args"), dict) else {}
        if re.search(r"\bOR\b", statement, re.IGNORECASE):
            raise QueryError(f"Relay simulator cannot evaluate OR in where statement: {statement}")
        inner = statement.strip()
        if inner.startswith("(") and inner.endswith(")") and ":..." not in inner:
            inner = inner[1:-1]
        for part in _AND.split(inner):
            predicates.append(_condition(part, args))
    return lambda m: all(p(m) for p in predicates)


def select(
    messages: list[Message],
    *,
    chat_guid: str | None,
    predicate: Predicate,
    after: int | None,
    before: int | None,
    sort: str,
    offset: int,
    limit: int,
) -> tuple[list[Message], int]:
    """Filter, order by dateCreated (ROWID breaks ties) and page; returns (page, total)."""
    rows = [
        m
        for m in messages
        if (chat_guid is None or m.chat.guid == chat_guid)
        and (after is None or m.date_created >= after)
        and (before is None or m.date_created <= before)
        and predicate(m)
    ]
    rows.sort(key=lambda m: (m.date_created, m.rowid), reverse=(sort == "DESC"))
    return rows[offset : offset + limit], len(rows)
