"""GET /api/replies: which leads replied, with their recent replies and the messages they answer."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from messaging.replies import parse_reply_filters, reply_list
from tuco.auth import workspace_of
from tuco.schema_fields import Error, ndt, nstr
from tuco.throttles import RateLimitedMixin


class ReplyRecentDoc(serializers.Serializer):
    messageId = serializers.CharField()
    message = serializers.CharField(allow_blank=True)
    receivedAtUtc = serializers.DateTimeField()


class ReplyParentMessageDoc(serializers.Serializer):
    messageId = serializers.CharField()
    message = serializers.CharField(allow_blank=True)
    sentAtUtc = ndt()
    batchId = nstr()
    campaignId = nstr()
    stepIndex = serializers.IntegerField(allow_null=True)


class ReplyItemDoc(serializers.Serializer):
    leadId = nstr()
    messageId = serializers.CharField(help_text="The most recent reply")
    message = serializers.CharField(allow_blank=True, help_text="Text of the most recent reply")
    respondedAtUtc = serializers.DateTimeField()
    recipientPhone = nstr()
    recipientEmail = nstr()
    name = nstr()
    lineId = nstr(help_text="The line the reply came in on")
    channel = serializers.CharField(help_text="imessage, sms or email: the channel the reply came in on")
    threadId = nstr()
    replyToMessageId = nstr(help_text="The outbound message the newest reply answers, when known")
    campaignId = nstr(help_text="The campaign of the message the newest reply answers")
    stepIndex = serializers.IntegerField(allow_null=True, help_text="Its step (0 = the first message)")
    recentReplies = ReplyRecentDoc(many=True, help_text="Up to 10 replies of this lead, newest first")
    parentMessages = ReplyParentMessageDoc(many=True, help_text="Up to 10 messages sent to this lead, newest first")


class RepliesPaginationDoc(serializers.Serializer):
    page = serializers.IntegerField()
    limit = serializers.IntegerField()
    total = serializers.IntegerField()
    totalPages = serializers.IntegerField()
    hasMore = serializers.BooleanField()


class RepliesResponse(serializers.Serializer):
    replies = ReplyItemDoc(many=True)
    pagination = RepliesPaginationDoc()


PARAMETERS = [
    OpenApiParameter("leadId", str, description="24-hex lead id; 404 if the lead is not in this workspace"),
    OpenApiParameter("campaignId", str, description="24-hex campaign id: replies answering its messages"),
    OpenApiParameter("recipientEmail", str),
    OpenApiParameter("recipientPhone", str, description="E.164 (or a number that normalizes to it)"),
    OpenApiParameter("lineId", str, description="24-hex line id: replies that came in on this line"),
    OpenApiParameter("dateFrom", str, description="ISO 8601 UTC, inclusive, on the reply time"),
    OpenApiParameter("dateTo", str, description="ISO 8601 UTC, inclusive; a bare date covers the whole day"),
    OpenApiParameter("page", int, description="Default 1"),
    OpenApiParameter("limit", int, description="1-100, default 50"),
]


class RepliesApi(RateLimitedMixin, APIView):
    rate_group = "replies"
    rate_methods = ("GET",)

    @extend_schema(operation_id="replies_list", parameters=PARAMETERS,
                   responses={200: RepliesResponse, 400: Error, 401: Error, 404: Error, 429: Error},
                   summary="Check replies: one item per lead (or thread) that replied, newest reply first")
    def get(self, request: Request) -> Response:
        workspace = workspace_of(request)
        filters = parse_reply_filters(workspace=workspace, params=request.query_params)
        page = reply_list(workspace=workspace, filters=filters)
        return Response({"replies": page.items, "pagination": page.pagination()})
