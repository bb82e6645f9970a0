"""Include from tuco/urls.py at the site root: `path("", include("messaging.attachments.urls"))`."""

from django.urls import path

from messaging.attachments import api

urlpatterns = [
    path("api/uploads", api.UploadsApi.as_view(), name="uploads"),
    path("uploads/<str:workspace_id>/<str:token>/<str:filename>", api.upload_file_view, name="upload-file"),
]
