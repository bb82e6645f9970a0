"""A small validatorjs 3.22 work-alike, so 400 texts match the real server's word for word.

BlueBubbles' `ValidateInput` runs validatorjs over the body (or query) and reports the first error
of the first failing attribute, in rule-declaration order. The rules the simulator needs are
implemented with validatorjs' quirks: only `required`/`present` look at missing values, every other
rule is skipped for undefined/null/blank values, and an unknown rule name throws at validation time
(which is how `GET /webhook?id=1` turns into a 500).
"""

from __future__ import annotations

import math
import re
from typing import Any

MISSING: Any = object()

_MESSAGES = {
    "required": "The {a} field is required.",
    "present": "The {a} field must be present (but can be empty).",
    "string": "The {a} must be a string.",
    "array": "The {a} must be an array.",
    "numeric": "The {a} must be a number.",
    "in": "The selected {a} is invalid.",
    "min_numeric": "The {a} must be at least {p}.",
    "min_string": "The {a} must be at least {p} characters.",
    "max_numeric": "The {a} may not be greater than {p}.",
    "max_string": "The {a} may not be greater than {p} characters.",
    # validatorjs' English file has no `boolean` entry, so it falls back to `def`.
    "boolean": "The {a} attribute has errors.",
}
_IMPLICIT = {"required", "present"}


class MissingRule(Exception):
    """validatorjs throws `Validator \\`<name>\\` is not defined!`; Koa turns it into a 500."""


def js_string(value: Any) -> str:
    """JavaScript's String(value), enough for the `required` rule."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, list):
        return ",".join("" if v is None else js_string(v) for v in value)
    if isinstance(value, dict):
        return "[object Object]"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def js_number(value: Any) -> float:
    """JavaScript's Number(value); NaN when it is not a number."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        s = value.strip()
        if s == "":
            return 0.0
        try:
            if re.fullmatch(r"0[xX][0-9a-fA-F]+", s):
                return float(int(s, 16))
            if re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?Infinity", s):
                return float(s.replace("Infinity", "inf"))
        except ValueError:
            return math.nan
    return math.nan


def _passes_required(value: Any) -> bool:
    if value is MISSING or value is None:
        return False
    return re.sub(r"\s", "", js_string(value)) != ""


def _is_numeric(value: Any) -> bool:
    return not isinstance(value, bool) and not math.isnan(js_number(value))


def _lookup(data: Any, path: str) -> Any:
    cur = data
    for part in path.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return MISSING
    return cur


def _expand(data: Any, attribute: str) -> list[str]:
    """`where.*.statement` -> `where.0.statement`, `where.1.statement`, ... (nothing if `where` is no list)."""
    if "*" not in attribute:
        return [attribute]
    head, _, tail = attribute.partition(".*")
    parent = _lookup(data, head)
    if not isinstance(parent, list):
        return []
    out: list[str] = []
    for i in range(len(parent)):
        out.extend(_expand(data, f"{head}.{i}{tail}"))
    return out


def _check(rule: str, param: str | None, value: Any, numeric_attr: bool) -> str | None:
    """Return the message key of a failure, or None."""
    if rule == "required":
        return None if _passes_required(value) else "required"
    if rule == "present":
        return None if value is not MISSING else "present"
    if rule == "string":
        return None if isinstance(value, str) else "string"
    if rule == "array":
        return None if isinstance(value, list) else "array"
    if rule == "boolean":
        ok = value is True or value is False or value in ("0", "1", "true", "false")
        ok = ok or (type(value) is int and value in (0, 1))
        return None if ok else "boolean"
    if rule == "numeric":
        return None if _is_numeric(value) else "numeric"
    if rule in ("min", "max"):
        limit = float(param or 0)
        if numeric_attr:
            size = js_number(value)
            kind = "numeric"
        else:
            size = float(len(value)) if isinstance(value, str | list) else js_number(value)
            kind = "string"
        ok = size >= limit if rule == "min" else size <= limit
        return None if ok else f"{rule}_{kind}"
    if rule == "in":
        choices = (param or "").split(",")
        return None if js_string(value) in choices else "in"
    raise MissingRule(f"Validator `{rule}` is not defined!")


def first_error(data: Any, rules: list[tuple[str, str]]) -> str | None:
    """The message BlueBubbles would put in `error.message`, or None when the input passes."""
    if not isinstance(data, dict):
        data = {}
    for pattern, spec in rules:
        parsed = [(r.partition(":")[0], r.partition(":")[2] or None) for r in spec.split("|")]
        numeric_attr = any(name == "numeric" for name, _ in parsed)
        for attribute in _expand(data, pattern):
            value = _lookup(data, attribute)
            for name, param in parsed:
                if name not in _IMPLICIT and not isinstance(value, list) and not _passes_required(value):
                    continue
                failed = _check(name, param, value, numeric_attr)
                if failed:
                    shown = param if param is None else param.rstrip("0").rstrip(".") if "." in param else param
                    return _MESSAGES[failed].format(a=attribute, p=shown)
    return None
