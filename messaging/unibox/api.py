"""POST /api/unibox/send-reply: the Unibox reply box for integrators. Thin: thread → reply service → answer."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from messaging import schemas
from messaging.api import send_context, send_response
from messaging.unibox.reply import reply_thread_get, thread_reply
from tuco.auth import workspace_of
from tuco.idempotency import IdempotentMixin
from tuco.logging import get_logger
from tuco.throttles import RateLimitedMixin

log = get_logger(__name__)


class UniboxReplyApi(RateLimitedMixin, IdempotentMixin, APIView):
    rate_group = "unibox_reply"

    @extend_schema(
        operation_id="unibox_send_reply", request=schemas.UniboxReplyInput,
        responses={201: schemas.UniboxReplyResponse, 200: schemas.UniboxReplyResponse, 400: schemas.Error,
                   401: schemas.Error, 402: schemas.Error, 403: schemas.Error, 404: schemas.Error,
                   409: schemas.Error, 429: schemas.Error},
        parameters=schemas.SEND_HEADERS, summary="Reply on a conversation thread (as the Unibox reply box)",
        description="Exactly one of threadId or messageId (the thread of that message). The reply goes to the "
                    "thread's address, for its lead, from its line when that line is active and carries the "
                    "messageType; otherwise an active line is picked as for POST /api/messages. Validation, "
                    "the duplicate guard (200 duplicateOnly), Idempotency-Key and do-not-contact work as for "
                    "POST /api/messages. 404 `Thread not found` / `Message not found` for unknown ids and "
                    "another workspace's. 30 requests per minute per workspace.",
    )
    def post(self, request: Request) -> Response:
        thread = reply_thread_get(workspace=workspace_of(request), data=request.data)
        log.info("unibox.reply.api_request", threadId=thread.pk)
        result = thread_reply(thread=thread, reply=request.data, context=send_context(request))
        log.info("unibox.reply_sent", messageId=result.message.pk, threadId=thread.pk, created=result.created,
                 via="api")
        return send_response(result, threadId=result.message.thread_id or thread.pk)
