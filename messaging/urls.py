from django.urls import path

from messaging import api

urlpatterns = [
    path("messages", api.MessagesApi.as_view(), name="messages"),
    path("messages/<str:message_id>", api.MessageDetailApi.as_view(), name="message-detail"),
    path("messages/<str:message_id>/cancel", api.MessageCancelApi.as_view(), name="message-cancel"),
]
