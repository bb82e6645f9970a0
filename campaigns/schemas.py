"""OpenAPI descriptions of the campaigns API (documentation only; bodies are parsed in campaigns.input)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, PolymorphicProxySerializer
from rest_framework import serializers

from tuco.schema_fields import Error, ndt, nstr

__all__ = ["Error"]

ID_PARAMETER = OpenApiParameter("campaign_id", str, OpenApiParameter.PATH, description="24-hex campaign id")


class StopCondition(serializers.Serializer):
    type = serializers.ChoiceField(choices=["replied", "replied_keyword", "has_tag", "lacks_tag", "contacted_before"])
    keywords = serializers.ListField(child=serializers.CharField(), required=False, help_text="replied_keyword")
    tag = serializers.CharField(required=False, help_text="has_tag / lacks_tag")


class StepInput(serializers.Serializer):
    message = serializers.CharField(help_text="Variables: {firstName} {lastName} {companyName} {email} {phone} "
                                              "{line_name}, with a fallback {firstName|there}; {{firstName}} too.")
    channel = serializers.ChoiceField(choices=["imessage", "sms", "email"], required=False, default="imessage")
    subject = serializers.CharField(required=False, help_text="Email steps")
    waitSeconds = serializers.IntegerField(required=False, min_value=0,
                                           help_text="After the actual send of the previous step (step 0: none)")
    wait = serializers.DictField(required=False, help_text='Or {"value": 2, "unit": "days"}')
    onlyIfNoReply = serializers.BooleanField(required=False)
    stopConditions = StopCondition(many=True, required=False)
    attachmentUrls = serializers.ListField(child=serializers.CharField(), required=False, max_length=2)
    attachmentNames = serializers.ListField(child=serializers.CharField(), required=False, max_length=2)


class CampaignInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    steps = StepInput(many=True)
    listId = serializers.CharField(required=False, allow_null=True,
                                   help_text="Its leads are enrolled at launch; null: API-only (add leads by API)")
    lineIds = serializers.ListField(child=serializers.CharField(), required=False,
                                    help_text="Assigned lines; default: every active line of the workspace")
    timezone = serializers.CharField(required=False)
    sendWindowStart = serializers.CharField(required=False)
    sendWindowEnd = serializers.CharField(required=False)
    allowedDaysOfWeek = serializers.ListField(child=serializers.IntegerField(), required=False)
    replyBehavior = serializers.ChoiceField(choices=["stop_on_reply", "continue"], required=False,
                                            default="stop_on_reply")
    sendFallbackSmsOnFailed = serializers.BooleanField(required=False, allow_null=True)


class StepDocument(serializers.Serializer):
    index = serializers.IntegerField()
    message = serializers.CharField()
    channel = serializers.CharField()
    subject = nstr()
    waitSeconds = serializers.IntegerField()
    onlyIfNoReply = serializers.BooleanField()
    stopConditions = serializers.ListField(child=serializers.DictField())
    attachmentUrls = serializers.ListField(child=serializers.CharField())
    attachmentNames = serializers.ListField(child=serializers.CharField())


class CampaignDocument(serializers.Serializer):
    _id = serializers.CharField()
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=["draft", "active", "paused", "completed", "archived"])
    workspaceId = serializers.CharField()
    listId = nstr()
    apiOnly = serializers.BooleanField()
    lineIds = serializers.ListField(child=serializers.CharField())
    timezone = nstr()
    sendWindowStart = nstr()
    sendWindowEnd = nstr()
    allowedDaysOfWeek = serializers.ListField(child=serializers.IntegerField(), allow_null=True)
    replyBehavior = serializers.CharField()
    sendFallbackSmsOnFailed = serializers.BooleanField(allow_null=True)
    holdReason = nstr()
    steps = StepDocument(many=True)
    launchedAt = ndt()
    completedAt = ndt()
    createdAt = ndt()
    updatedAt = ndt()


class CampaignResponse(serializers.Serializer):
    success = serializers.BooleanField()
    campaign = CampaignDocument()


class CampaignList(serializers.Serializer):
    campaigns = CampaignDocument(many=True)
    nextCursor = nstr()


class StepStats(serializers.Serializer):
    index = serializers.IntegerField()
    queued = serializers.IntegerField()
    sent = serializers.IntegerField()
    delivered = serializers.IntegerField()
    read = serializers.IntegerField()
    failed = serializers.IntegerField()
    fallback = serializers.IntegerField()
    replied = serializers.IntegerField()
    stopped = serializers.IntegerField()


class CampaignStats(serializers.Serializer):
    campaignId = serializers.CharField()
    status = serializers.CharField()
    holdReason = nstr()
    steps = StepStats(many=True)
    leads = serializers.DictField(child=serializers.IntegerField())
    replyRate = serializers.FloatField()


class Recipient(serializers.Serializer):
    leadId = serializers.CharField()
    name = nstr()
    phone = nstr()
    email = nstr()
    state = serializers.CharField()
    badge = serializers.ChoiceField(choices=["Pending", "Sent", "Delivered", "Failed", "Fallback", "Replied",
                                             "Stopped"])
    currentStep = serializers.IntegerField(allow_null=True)
    nextStep = serializers.IntegerField()
    nextStepAt = ndt()
    waitingBecause = serializers.CharField()
    messageId = nstr()
    messageStatus = nstr()
    lineId = nstr()
    lastSentAt = ndt()
    repliedAt = ndt()
    stopReason = nstr()
    enrolledAt = ndt()


class RecipientList(serializers.Serializer):
    recipients = Recipient(many=True)
    nextCursor = nstr()


class AddLeadLead(serializers.Serializer):
    firstName = serializers.CharField(required=False)
    lastName = serializers.CharField(required=False)
    email = serializers.CharField(required=False)
    phone = serializers.CharField(required=False)
    companyName = serializers.CharField(required=False)
    jobTitle = serializers.CharField(required=False)


class AddLeadInput(serializers.Serializer):
    leadId = serializers.CharField(required=False)
    lead = AddLeadLead(required=False)
    leadIds = serializers.ListField(child=serializers.CharField(), required=False, max_length=1000,
                                    help_text="Bulk: up to 1,000 lead ids (answers counts)")
    listId = serializers.CharField(required=False, help_text="Bulk: every lead of a list (answers counts)")


class AddLeadResponse(serializers.Serializer):
    """`{leadId}` or `{lead}`: the one lead and its CRM links."""

    success = serializers.BooleanField()
    leadId = serializers.CharField()
    campaignId = serializers.CharField()
    messageCount = serializers.IntegerField()
    message = serializers.CharField()
    alreadyInCampaign = serializers.BooleanField(required=False)
    existingLeadIds = serializers.ListField(child=serializers.CharField(), required=False)
    ghlContactId = nstr()
    ghlLocationId = nstr()
    hsPortalId = nstr()
    hsContactId = nstr()


class AddLeadsBulkResponse(serializers.Serializer):
    """`{leadIds}` or `{listId}`: counts, no per-lead fields."""

    success = serializers.BooleanField()
    campaignId = serializers.CharField()
    requested = serializers.IntegerField()
    enrolled = serializers.IntegerField()
    alreadyInCampaign = serializers.IntegerField(help_text="leads already enrolled: left as they were")
    notFound = serializers.IntegerField(help_text="ids that are not leads of this workspace")


ADD_LEAD_RESPONSE = PolymorphicProxySerializer(
    component_name="AddLeadResult", serializers=[AddLeadResponse, AddLeadsBulkResponse], resource_type_field_name=None)


class DeleteResponse(serializers.Serializer):
    success = serializers.BooleanField()
    campaignId = serializers.CharField()
    result = serializers.ChoiceField(choices=["deleted", "archived"],
                                     help_text="archived when the campaign has messages (they stay reportable)")
