from django.urls import path

from messaging import api
from messaging.exports_api import MessageExportApi
from messaging.unibox.api import UniboxReplyApi

urlpatterns = [
    path("messages", api.MessagesApi.as_view(), name="messages"),
    path("messages/export", MessageExportApi.as_view(), name="messages-export"),  # before messages/<id>
    path("messages/<str:message_id>", api.MessageDetailApi.as_view(), name="message-detail"),
    path("messages/<str:message_id>/cancel", api.MessageCancelApi.as_view(), name="message-cancel"),
    path("unibox/send-reply", UniboxReplyApi.as_view(), name="unibox-send-reply"),
    path("fallback-sms", api.FallbackSmsApi.as_view(), name="fallback-sms"),
]
