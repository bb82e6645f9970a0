"""schemathesis hooks of `make fuzz` (SCHEMATHESIS_HOOKS=tests.hardening.fuzz_hooks), run in the `st` process.

Three calls in four get what a real caller has, so the success paths run, not only the refusals:
- an API path parameter names a seeded row of workspace A (a fresh one for a DELETE: RealIds);
- a callback names workspace B's line and carries its secret (/hooks/bluebubbles, /hooks/email), or
  B's id and a valid X-Twilio-Signature over the exact URL and form body sent (/hooks/twilio/...).
  B is a workspace the API key (A's) cannot reach, so generated PATCHes never change its secrets.
The fourth call keeps the generated values (unknown ids → 404, wrong or no secret → 404/403).
The stateful phase keeps its own path parameters: they come from earlier answers (links).

The run's context (base URL, key, ids, secrets) is a JSON file named by TUCO_FUZZ_CONTEXT,
written by tests/hardening/fuzz_run.py. Secrets stay in that file and this process.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import requests
import schemathesis
from schemathesis.core import NOT_SET
from twilio.request_validator import RequestValidator

from tests.hardening.real_ids import RealIds

CONTEXT: dict[str, Any] = json.loads(Path(os.environ["TUCO_FUZZ_CONTEXT"]).read_text())
_ids = RealIds(CONTEXT["base_url"], {"Authorization": f"Bearer {CONTEXT['key']}"}, CONTEXT["ids"],
               requests.Session())
_calls = itertools.count()


class _Fields:
    """POST fields as Django's request.POST sees them, with the getlist() the Twilio validator reads."""

    def __init__(self, body: str) -> None:
        self.pairs = parse_qsl(body, keep_blank_values=True, encoding="utf-8", errors="replace")

    def __iter__(self) -> Any:
        return iter(dict.fromkeys(name for name, _ in self.pairs))

    def __bool__(self) -> bool:
        return bool(self.pairs)

    def getlist(self, name: str) -> list[str]:
        return [value for key, value in self.pairs if key == name]


def _form_text(body: Any) -> str:
    """The form body exactly as it goes on the wire (what requests would encode a mapping to)."""
    if body is NOT_SET or body is None:
        return ""
    if isinstance(body, Mapping):
        return requests.models.RequestEncodingMixin._encode_params(dict(body)) or ""
    if isinstance(body, bytes):
        return body.decode("utf-8", "replace")
    return body if isinstance(body, str) else json.dumps(body)


def _sign_twilio(case: Any) -> None:
    hooks = CONTEXT["hooks"]
    case.query = {"ws": hooks["workspace_id"]}
    body = _form_text(case.body)
    if case.body is not NOT_SET:
        case.body = body.encode("utf-8")
    prepared = requests.PreparedRequest()
    prepared.prepare_url(f"{CONTEXT['base_url']}{case.formatted_path}", case.query)
    signature = RequestValidator(hooks["twilio_auth_token"]).compute_signature(prepared.url, _Fields(body))
    case.headers = {**(case.headers or {}), "X-Twilio-Signature": signature}


def _line_credentials(case: Any) -> None:
    hooks = CONTEXT["hooks"]
    line = hooks["email_line"] if case.path.startswith("/hooks/email/") else hooks["relay_line"]
    case.path_parameters = {"line_id": line["id"]}
    case.query = {"secret": line["secret"]}


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    if next(_calls) % 4 == 0:
        return
    if case.path.startswith("/hooks/twilio/"):
        _sign_twilio(case)
    elif case.path.startswith("/hooks/"):
        _line_credentials(case)
    elif case.path_parameters and not (case.meta is not None and case.meta.phase.name.value == "stateful"):
        case.path_parameters = {**case.path_parameters, **_ids.for_case(case.method, case.path_parameters)}
