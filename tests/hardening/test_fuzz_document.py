"""The document `make fuzz` hands schemathesis covers every operation: /api/schema's and every /hooks/ route's."""

from __future__ import annotations

import re
from typing import Any

from django.test import Client

from tests.hardening.fuzz_document import HOOK_PATHS, fuzz_document
from tests.hardening.routes import routes


def _openapi_path(pattern: str) -> str:
    return "/" + re.sub(r"<(?:[^>:]+:)?(\w+)>", r"{\1}", pattern)


def test_every_callback_route_is_described_for_the_fuzzer(db: Any) -> None:
    hooks = {(_openapi_path(r.pattern), method.lower()) for r in routes() if not r.is_api for method in r.methods}
    described = {(path, method) for path, operations in HOOK_PATHS.items() for method in operations}
    assert hooks == described


def test_the_fuzz_document_is_the_api_schema_plus_the_callbacks(db: Any) -> None:
    api = Client().get("/api/schema", HTTP_ACCEPT="application/json").json()
    document = fuzz_document(api)
    assert set(document["paths"]) == set(api["paths"]) | set(HOOK_PATHS)
    assert all(operation["security"] == [] for path in HOOK_PATHS for operation in document["paths"][path].values())
    assert document["paths"]["/api/messages"] == api["paths"]["/api/messages"]
