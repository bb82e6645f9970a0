"""Shared pieces for documentation-only serializers (drf-spectacular).

Request validation does not use these (the spec's exact error texts come from
hand-written parsers); they describe the wire format for /api/schema.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rest_framework import serializers


def nstr(**kw: object) -> serializers.CharField:
    return serializers.CharField(allow_null=True, required=True, **kw)


def ndt(**kw: object) -> serializers.DateTimeField:
    return serializers.DateTimeField(allow_null=True, required=True, **kw)


class Error(serializers.Serializer):
    error = serializers.CharField()
    code = serializers.CharField(required=False)


def document_error_response(result: dict[str, Any], status: str, applies: Callable[[dict[str, Any]], bool]) -> None:
    """For drf-spectacular postprocessing hooks: add an `Error` answer with `status` to every operation of the
    generated document that `applies` selects (operations documenting that status already keep theirs)."""
    error = {"description": "", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if applies(operation):
                operation.setdefault("responses", {}).setdefault(status, error)
