"""OpenAPI descriptions of the availability endpoints (documentation only)."""

from __future__ import annotations

from rest_framework import serializers

from tuco.schema_fields import Error

__all__ = ["Error"]


class RoundRobinInput(serializers.Serializer):
    phones = serializers.ListField(child=serializers.CharField(), required=False, help_text="Checked first, in order")
    emails = serializers.ListField(child=serializers.CharField(), required=False)
    address = serializers.CharField(required=False, help_text="One phone or email")


class RoundRobinResponse(serializers.Serializer):
    available = serializers.BooleanField()
    address = serializers.CharField(required=False, help_text="The first address on iMessage")
    reason = serializers.CharField(required=False)
    checkedAddresses = serializers.ListField(child=serializers.CharField())
    cached = serializers.BooleanField(help_text="The deciding answer came from the cache (no budget spent)")


class LeadCheckInput(serializers.Serializer):
    address = serializers.CharField(required=False)
    leadIds = serializers.ListField(child=serializers.CharField(), required=False)
    listId = serializers.CharField(required=False)


class LeadCheckResponse(serializers.Serializer):
    success = serializers.BooleanField()
    leadId = serializers.CharField()
    available = serializers.BooleanField()
    status = serializers.ChoiceField(choices=["available", "unavailable", "error"])
    checkedAddresses = serializers.ListField(child=serializers.CharField())
    address = serializers.CharField(required=False, allow_null=True)


class LeadCheckResult(serializers.Serializer):
    leadId = serializers.CharField()
    available = serializers.BooleanField()
    status = serializers.CharField()


class LeadBulkCheckResponse(serializers.Serializer):
    success = serializers.BooleanField()
    available = serializers.BooleanField(required=False)
    address = serializers.CharField(required=False)
    cached = serializers.BooleanField(required=False)
    checked = serializers.IntegerField(required=False)
    successful = serializers.IntegerField(required=False)
    errors = serializers.IntegerField(required=False)
    results = LeadCheckResult(many=True, required=False)
    processingMode = serializers.ChoiceField(choices=["synchronous", "background"], required=False)
    message = serializers.CharField(required=False)
    jobId = serializers.CharField(required=False)
