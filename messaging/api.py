"""Messages API: send, fallback SMS, list, read (with timeline), cancel. Thin: parse → service → document."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from leads.models import CRM_FIELDS
from messaging import schemas
from messaging.documents import message_document
from messaging.selectors import message_detail, message_list
from messaging.send_input import parse_send_request
from messaging.services.cancel import message_cancel
from messaging.services.create import CreateResult, SendContext, message_create
from messaging.services.forced import fallback_sms_request, forced_fallback_response
from tuco.auth import workspace_of
from tuco.idempotency import IdempotentMixin
from tuco.logging import bind_context, get_logger
from tuco.throttles import RateLimitedMixin

log = get_logger(__name__)


def _duplicate_sentence(age_seconds: int) -> str:
    return (f"Same message text already sent to this contact {age_seconds}s ago — "
            "returning existing message instead of sending again")


def send_context(request: Request, body_correlation_id: str = "") -> SendContext:
    """The request's metadata for a send. Correlation id: the header, else the body's, else the generated one."""
    correlation_id = request._request.correlation_id  # type: ignore[attr-defined]
    if body_correlation_id and not request._request.correlation_id_from_header:  # type: ignore[attr-defined]
        correlation_id = body_correlation_id
        bind_context(correlationId=correlation_id)
    return SendContext(correlation_id=correlation_id,
                       execution_id=(request.headers.get("x-execution-id") or "")[:200],
                       ghl_workflow_id=(request.headers.get("x-ghl-workflow-id") or "")[:200])


def _links(result: CreateResult) -> dict[str, Any]:
    """The send response's lead and CRM links: `ghlContactId`, … always (null when unset), and when the
    recipient matched a lead the workspace already had, `existingLeadIds` and `leadIds` (spec)."""
    message = result.message
    links: dict[str, Any] = {key: getattr(message, column) or None for key, column in CRM_FIELDS.items()}
    if result.lead_existed and message.lead_id:
        links.update(existingLeadIds=[message.lead_id], leadIds=[message.lead_id])
    return links


def send_response(result: CreateResult, *, forced: bool = False, **extra: Any) -> Response:
    """The answer to a send: 201 created, 200 duplicate (the original), 200 with `success` for a forced fallback.

    A created message answers 201 also when its recipient matched an existing lead: the spec's field table
    says `success` is "true when the message was created" and creation is 201; the matched lead is named in
    `existingLeadIds` / `leadIds`. `extra` fields (e.g. threadId) are added to every shape.
    """
    message = result.message
    extra = {**_links(result), **extra}
    if not result.created:
        return Response({"success": True, "duplicateOnly": True,
                         "duplicateMessage": _duplicate_sentence(result.duplicate_age_seconds),
                         "status": message.status, "message": message_document(message),
                         "leadId": message.lead_id, **extra}, status=200)
    if forced:
        return Response({**forced_fallback_response(message), **extra}, status=200)
    return Response({"success": True, "status": message.status, "message": message_document(message),
                     "leadId": message.lead_id, **extra}, status=201)


class MessagesApi(RateLimitedMixin, IdempotentMixin, APIView):
    rate_group = "send"

    @extend_schema(operation_id="messages_send", request=schemas.SendMessageInput,
                   responses={201: schemas.SendMessageResponse, 200: schemas.SendMessageResponse,
                              400: schemas.Error, 401: schemas.Error, 402: schemas.Error, 404: schemas.Error,
                              409: schemas.Error, 429: schemas.Error},
                   parameters=schemas.SEND_HEADERS, summary="Send a message (iMessage, SMS or email)")
    def post(self, request: Request) -> Response:
        workspace = workspace_of(request)
        send = parse_send_request(request.data)
        context = send_context(request, send.correlation_id)
        log.info("message.api.request", messageType=send.message_type, hasLead=bool(send.lead_id))
        result = message_create(workspace=workspace, request=send, enqueue=not send.force_fallback, context=context)
        return send_response(result, forced=send.force_fallback)

    @extend_schema(operation_id="messages_list", parameters=schemas.LIST_PARAMETERS,
                   responses={200: schemas.MessageListResponse, 400: schemas.Error, 401: schemas.Error},
                   summary="List messages, newest first")
    def get(self, request: Request) -> Response:
        page = message_list(workspace=workspace_of(request), params=request.query_params)
        return Response({"messages": [message_document(m) for m in page.items], "nextCursor": page.next_cursor,
                         "hasMore": page.next_cursor is not None, "limit": page.limit})


class FallbackSmsApi(RateLimitedMixin, IdempotentMixin, APIView):
    rate_group = "fallback_sms"

    @extend_schema(
        operation_id="fallback_sms_send", request=schemas.FallbackSmsInput,
        responses={200: schemas.SendMessageResponse, 400: schemas.Error, 401: schemas.Error, 402: schemas.Error,
                   403: schemas.Error, 404: schemas.Error, 409: schemas.Error, 429: schemas.Error},
        parameters=schemas.SEND_HEADERS, summary="Send an SMS through the workspace's fallback provider now",
        description="POST /api/messages with forceFallback: true and messageType sms: the SMS goes out in the "
                    "request through the configured fallback (Twilio, GHL or webhook), never over iMessage. "
                    "Always 200: `success` says whether it went; when it did not (no fallback configured, the "
                    "provider refused) `error` is channel-tagged and the message has fallbackSmsStatus "
                    "`failed`. A phone is required (recipientPhone, or a leadId with a phone). Duplicate guard "
                    "and Idempotency-Key as for POST /api/messages. 200 requests per minute per workspace.",
    )
    def post(self, request: Request) -> Response:
        send = fallback_sms_request(request.data)
        context = send_context(request, send.correlation_id)
        log.info("fallback_sms.api.request", hasLead=bool(send.lead_id))
        result = message_create(workspace=workspace_of(request), request=send, enqueue=False, context=context)
        return send_response(result, forced=True)


class MessageDetailApi(APIView):
    @extend_schema(operation_id="messages_get", responses={200: schemas.MessageDetailResponse,
                                                           401: schemas.Error, 404: schemas.Error},
                   parameters=[OpenApiParameter("message_id", str, OpenApiParameter.PATH)],
                   summary="Read one message with its timeline and send attempts")
    def get(self, request: Request, message_id: str) -> Response:
        detail = message_detail(workspace=workspace_of(request), message_id=message_id)
        return Response({"success": True, "message": message_document(detail.message),
                         "events": detail.events, "attempts": detail.attempts})


class MessageCancelApi(IdempotentMixin, APIView):
    @extend_schema(operation_id="messages_cancel", request=None,
                   responses={200: schemas.CancelMessageResponse, 401: schemas.Error, 402: schemas.Error,
                              404: schemas.Error, 409: schemas.Error},
                   parameters=[OpenApiParameter("message_id", str, OpenApiParameter.PATH)],
                   summary="Cancel a queued, pending or scheduled message")
    def post(self, request: Request, message_id: str, **_: Any) -> Response:
        message = message_cancel(workspace=workspace_of(request), message_id=message_id, reason="api")
        return Response({"success": True, "status": message.status, "message": message_document(message),
                         "leadId": message.lead_id})
