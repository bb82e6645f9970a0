from django.urls import path

from bench.floor.views import FloorMessages

urlpatterns = [path("api/messages", FloorMessages.as_view()), path("health/ready", FloorMessages.as_view())]
