"""Shared pieces for documentation-only serializers (drf-spectacular).

Request validation does not use these (the spec's exact error texts come from
hand-written parsers); they describe the wire format for /api/schema.
"""

from __future__ import annotations

from rest_framework import serializers


def nstr(**kw: object) -> serializers.CharField:
    return serializers.CharField(allow_null=True, required=True, **kw)


def ndt(**kw: object) -> serializers.DateTimeField:
    return serializers.DateTimeField(allow_null=True, required=True, **kw)


class Error(serializers.Serializer):
    error = serializers.CharField()
    code = serializers.CharField(required=False)
