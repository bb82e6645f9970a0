"""OpenAPI descriptions of the messages API (documentation only; see tuco.schema_fields)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from tuco.schema_fields import Error, ndt, nstr

__all__ = ["Error"]


class SendMessageInput(serializers.Serializer):
    message = serializers.CharField(required=False, allow_blank=True,
                                    help_text="Body; {{firstName}} etc. are filled from the lead at send time.")
    messageType = serializers.ChoiceField(choices=["imessage", "sms", "email"], required=False, default="imessage")
    recipientPhone = serializers.CharField(required=False, help_text="E.164, e.g. +12025551234")
    recipientEmail = serializers.EmailField(required=False)
    recipientName = serializers.CharField(required=False)
    fromLineId = serializers.CharField(required=False, help_text="Omit to round-robin across active lines.")
    leadId = serializers.CharField(required=False)
    altPhone1 = serializers.CharField(required=False)
    altPhone2 = serializers.CharField(required=False)
    altPhone3 = serializers.CharField(required=False)
    altEmail1 = serializers.EmailField(required=False)
    altEmail2 = serializers.EmailField(required=False)
    altEmail3 = serializers.EmailField(required=False)
    scheduledDate = serializers.DateTimeField(required=False)
    timezone = serializers.CharField(required=False, help_text="IANA, e.g. America/New_York")
    sendWindowStart = serializers.CharField(required=False, help_text="HH:mm")
    sendWindowEnd = serializers.CharField(required=False, help_text="HH:mm")
    allowedDaysOfWeek = serializers.ListField(child=serializers.IntegerField(min_value=0, max_value=6),
                                              required=False, help_text="0 = Sunday; day names also accepted")
    sendFallbackSmsOnFailed = serializers.BooleanField(required=False)
    forceFallback = serializers.BooleanField(required=False)
    batchId = serializers.CharField(required=False)
    correlationId = serializers.CharField(required=False)
    ghlContactId = serializers.CharField(required=False, max_length=100,
                                         help_text="CRM link: stored on the lead, echoed in the response.")
    ghlLocationId = serializers.CharField(required=False, max_length=100)
    hsPortalId = serializers.CharField(required=False, max_length=100)
    hsContactId = serializers.CharField(required=False, max_length=100)
    subject = serializers.CharField(required=False, help_text="Email subject (email messages only)")
    attachmentUrls = serializers.ListField(child=serializers.URLField(), max_length=2, required=False)
    attachmentNames = serializers.ListField(child=serializers.CharField(), max_length=2, required=False)


class MessageDocument(serializers.Serializer):
    _id = serializers.CharField()
    message = serializers.CharField(allow_blank=True)
    subject = nstr()
    messageType = serializers.ChoiceField(choices=["imessage", "sms", "email"])
    status = serializers.ChoiceField(choices=["queued", "pending", "sending", "sent", "delivered", "failed",
                                              "fallback", "scheduled", "cancelled", "received"])
    direction = serializers.ChoiceField(choices=["outbound", "inbound"])
    queuedReason = nstr()
    nextAttemptAt = ndt()
    statusExplanation = serializers.CharField(allow_blank=True)
    fromLineId = nstr()
    fromLinePhone = nstr()
    fromLineEmail = nstr()
    recipientPhone = nstr()
    recipientEmail = nstr()
    recipientName = nstr()
    sendToAddress = nstr()
    leadId = nstr()
    threadId = nstr()
    workspaceId = serializers.CharField()
    batchId = nstr()
    campaignId = nstr(help_text="The campaign that created it (null for a single send)")
    stepIndex = serializers.IntegerField(allow_null=True, help_text="Its campaign step (0 = the first message)")
    correlationId = nstr()
    executionId = nstr()
    ghlWorkflowId = nstr()
    ghlContactId = nstr()
    ghlLocationId = nstr()
    hsPortalId = nstr()
    hsContactId = nstr()
    createdByUserId = serializers.IntegerField(allow_null=True, help_text="The operator (Unibox); null for API keys.")
    scheduledDate = ndt()
    timezone = nstr()
    sendWindowStart = nstr()
    sendWindowEnd = nstr()
    allowedDaysOfWeek = serializers.ListField(child=serializers.IntegerField(), allow_null=True)
    sendFallbackSmsOnFailed = serializers.BooleanField(allow_null=True)
    forceFallback = serializers.BooleanField()
    attachmentUrls = serializers.ListField(child=serializers.CharField())
    attachmentNames = serializers.ListField(child=serializers.CharField())
    attemptCount = serializers.IntegerField()
    sentAt = ndt()
    deliveredAt = ndt()
    readAt = ndt()
    externalMessageId = nstr()
    error = nstr()
    errorMessage = nstr()
    errorCode = nstr()
    reason = nstr(help_text="Why iMessage was not available (fallback)")
    checkedAddresses = serializers.ListField(child=serializers.CharField())
    availabilityFromCache = serializers.BooleanField(allow_null=True)
    fallbackSmsStatus = nstr()
    fallbackProvider = nstr()
    fallbackExternalId = nstr()
    fallbackError = nstr()
    replyToMessageId = nstr()
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()


class CancelMessageResponse(serializers.Serializer):
    success = serializers.BooleanField()
    status = serializers.CharField(help_text="cancelled")
    message = MessageDocument()
    leadId = nstr()


class SendMessageResponse(serializers.Serializer):
    success = serializers.BooleanField()
    status = serializers.CharField()
    message = MessageDocument()
    leadId = nstr()
    duplicateOnly = serializers.BooleanField(required=False)
    duplicateMessage = serializers.CharField(required=False)
    existingLeadIds = serializers.ListField(child=serializers.CharField(), required=False,
                                            help_text="The recipient matched these existing leads (still 201: "
                                                      "the message was created).")
    leadIds = serializers.ListField(child=serializers.CharField(), required=False)
    ghlContactId = nstr()
    ghlLocationId = nstr()
    hsPortalId = nstr()
    hsContactId = nstr()
    retrying = serializers.BooleanField(required=False, help_text="forceFallback: the one try in the request "
                                                                  "failed and a worker retries it")
    error = serializers.CharField(required=False, help_text="forceFallback not sent: channel-tagged, e.g. twilio: …")
    code = serializers.CharField(required=False, allow_null=True)
    channel = serializers.CharField(required=False, help_text="forceFallback not sent: the channel that failed")


class UniboxReplyInput(serializers.Serializer):
    threadId = serializers.CharField(required=False, help_text="The thread to reply on (or give messageId).")
    messageId = serializers.CharField(required=False,
                                      help_text="Reply on the thread of this message, inbound or outbound.")
    message = serializers.CharField(required=False, allow_blank=True,
                                    help_text="Body; {{firstName}} etc. are filled from the lead at send time.")
    messageType = serializers.ChoiceField(
        choices=["imessage", "sms", "email"], required=False,
        help_text="Default: the thread's channel (its line's; SMS for a phone thread without a line). "
                  "A phone thread takes imessage or sms, an email thread email or imessage.")
    attachmentUrls = serializers.ListField(child=serializers.URLField(), max_length=2, required=False)
    attachmentNames = serializers.ListField(child=serializers.CharField(), max_length=2, required=False)
    subject = serializers.CharField(required=False, help_text="Email replies only. Default: \"Re: <subject>\" "
                                                              "of the thread's latest email, else the line's default.")


class UniboxReplyResponse(SendMessageResponse):
    threadId = serializers.CharField()


class FallbackSmsInput(serializers.Serializer):
    message = serializers.CharField(required=False, allow_blank=True,
                                    help_text="SMS text (at most 1,600 characters); placeholders are filled.")
    recipientPhone = serializers.CharField(required=False, help_text="E.164; required unless leadId has a phone")
    leadId = serializers.CharField(required=False)
    recipientName = serializers.CharField(required=False)
    correlationId = serializers.CharField(required=False)
    batchId = serializers.CharField(required=False)
    attachmentUrls = serializers.ListField(child=serializers.URLField(), max_length=2, required=False,
                                           help_text="Sent as links after the text.")


class MessageListResponse(serializers.Serializer):
    messages = MessageDocument(many=True)
    nextCursor = nstr()
    hasMore = serializers.BooleanField()
    limit = serializers.IntegerField()


class MessageEventDoc(serializers.Serializer):
    at = serializers.DateTimeField()
    fromStatus = nstr()
    toStatus = nstr()
    reason = nstr()
    detail = serializers.DictField()


class SendAttemptDoc(serializers.Serializer):
    number = serializers.IntegerField()
    channel = serializers.CharField()
    lineId = nstr()
    toAddress = nstr()
    startedAt = serializers.DateTimeField()
    finishedAt = ndt()
    durationMs = serializers.IntegerField(allow_null=True)
    responseCode = serializers.IntegerField(allow_null=True)
    outcome = serializers.CharField()
    errorClass = nstr()
    error = nstr()
    externalId = nstr()
    cacheHit = serializers.BooleanField(allow_null=True)


class MessageDetailResponse(serializers.Serializer):
    success = serializers.BooleanField()
    message = MessageDocument()
    events = MessageEventDoc(many=True)
    attempts = SendAttemptDoc(many=True)


SEND_HEADERS = [
    OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
                     description="Replays the first response for 24 h; a different body → 409."),
    OpenApiParameter("x-correlation-id", str, OpenApiParameter.HEADER, required=False),
    OpenApiParameter("x-execution-id", str, OpenApiParameter.HEADER, required=False),
    OpenApiParameter("x-ghl-workflow-id", str, OpenApiParameter.HEADER, required=False),
]

LIST_PARAMETERS = [
    OpenApiParameter("status", str, description="One status or a comma-separated list"),
    OpenApiParameter("fromLineId", str),
    OpenApiParameter("leadId", str),
    OpenApiParameter("threadId", str),
    OpenApiParameter("batchId", str),
    OpenApiParameter("campaignId", str, description="24-hex campaign id: the messages its steps created"),
    OpenApiParameter("stepIndex", int, description="With campaignId: one step's messages"),
    OpenApiParameter("correlationId", str),
    OpenApiParameter("messageType", str, enum=["imessage", "sms", "email"]),
    OpenApiParameter("direction", str, enum=["outbound", "inbound"]),
    OpenApiParameter("recipient", str, description="Phone or email of the recipient"),
    OpenApiParameter("createdFrom", str, description="ISO 8601, inclusive"),
    OpenApiParameter("createdTo", str, description="ISO 8601, inclusive"),
    OpenApiParameter("cursor", str, description="nextCursor of the previous page"),
    OpenApiParameter("limit", int, description="1-100, default 50"),
]
