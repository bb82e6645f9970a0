"""OpenAPI descriptions of the lines API (documentation only)."""

from __future__ import annotations

from rest_framework import serializers

from tuco.schema_fields import Error, ndt, nstr

__all__ = ["Error"]


class LineUsage(serializers.Serializer):
    date = serializers.CharField()
    totalMessagesCount = serializers.IntegerField()
    newConversationsCount = serializers.IntegerField()
    availabilityChecksCount = serializers.IntegerField()
    firstTouchesThisHour = serializers.IntegerField()


class LineHealth(serializers.Serializer):
    status = serializers.ChoiceField(choices=["healthy", "unhealthy"])
    reason = nstr()
    lastCheckedAt = ndt()


class NextSlot(serializers.Serializer):
    anyMessage = ndt(help_text="When the line can next send any message (null while unhealthy or inactive)")
    newConversation = ndt(help_text="When the line can next start a new conversation")


class LineDocument(serializers.Serializer):
    _id = serializers.CharField()
    workspaceId = serializers.CharField()
    phone = nstr()
    email = nstr()
    firstName = nstr()
    lastName = nstr()
    channelType = serializers.ChoiceField(choices=["phone", "email"])
    lineType = serializers.CharField()
    isActive = serializers.BooleanField()
    provisioningStatus = serializers.CharField()
    timezone = serializers.CharField()
    deviceId = nstr()
    privateApi = serializers.BooleanField()
    dailyTotalMessagesLimit = serializers.IntegerField()
    dailyNewConversationsLimit = serializers.IntegerField()
    hourlyFirstTouchLimit = serializers.IntegerField()
    availabilityDailyCap = serializers.IntegerField()
    deviceGapSeconds = serializers.IntegerField(allow_null=True)
    contactGapSeconds = serializers.IntegerField()
    usage = LineUsage()
    healthCheck = LineHealth()
    nextSlotAt = NextSlot()
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()


class LinesResponse(serializers.Serializer):
    lines = LineDocument(many=True)
