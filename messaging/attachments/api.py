"""Uploads API (`POST /api/uploads`) and the public file view (`GET /uploads/<ws>/<token>/<name>`)."""

from __future__ import annotations

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_safe
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from messaging.attachments.types import MAX_BYTES, SUPPORTED_TEXT
from messaging.attachments.uploads import upload_create, upload_get
from tuco.auth import workspace_of
from tuco.errors import BadRequest
from tuco.schema_fields import Error
from tuco.storage import media_storage
from tuco.throttles import RateLimitedMixin

# Multipart framing around the file (boundaries, part headers, small fields) on top of the cap.
MULTIPART_SLACK_BYTES = 64 * 1024
TOO_LARGE = f"File too large: the limit is {MAX_BYTES // (1024 * 1024)} MB"


class UploadInput(serializers.Serializer):
    file = serializers.FileField(help_text=f"The file (max 25 MB). Supported: {SUPPORTED_TEXT}.")


class UploadResponse(serializers.Serializer):
    url = serializers.URLField(help_text="Public, unguessable URL; pass it in attachmentUrls.")
    name = serializers.CharField(help_text="File name, extension matching the real type.")
    mimeType = serializers.CharField()
    size = serializers.IntegerField(help_text="Bytes.")


class UploadsApi(RateLimitedMixin, APIView):
    parser_classes = [MultiPartParser]
    rate_group = "uploads"

    @extend_schema(
        operation_id="uploads_create", request={"multipart/form-data": UploadInput},
        responses={201: UploadResponse, 400: Error, 401: Error, 402: Error, 413: Error, 415: Error, 429: Error},
        summary="Upload a file to send as an attachment",
        description=("Stores the file for this workspace and returns its URL. The type is checked from the bytes "
                     f"({SUPPORTED_TEXT}); the name's extension is corrected to match. Error codes: "
                     "ATTACHMENT_TOO_LARGE, ATTACHMENT_UNSUPPORTED_TYPE, ATTACHMENT_EMPTY, FILE_REQUIRED; "
                     "RATE_LIMITED (429, with Retry-After) beyond 60 uploads per minute per workspace; "
                     "UPLOAD_QUOTA_EXCEEDED (413) when the workspace's stored uploads would pass its quota "
                     "(files or bytes; uploads expire after the retention unless a waiting message uses them). "
                     "Only this workspace may send the URL (another workspace's send answers 403)."),
        examples=[OpenApiExample("Uploaded", response_only=True, status_codes=["201"], value={
            "url": "https://app.tuco.ai/uploads/667f1f77bcf86cd799439011/3q2-7wJd0mXc1hV_ZkRr8Q9aTtYbLpNe/promo.mp4",
            "name": "promo.mp4", "mimeType": "video/mp4", "size": 1048576})],
    )
    def post(self, request: Request) -> Response:
        workspace = workspace_of(request)
        # Refuse an oversized body before reading it (the multipart parser would spool it to disk).
        declared = str(request.META.get("CONTENT_LENGTH") or "").strip()
        if declared.isdigit() and int(declared) > MAX_BYTES + MULTIPART_SLACK_BYTES:
            raise BadRequest(TOO_LARGE, code="ATTACHMENT_TOO_LARGE")
        uploaded = request.FILES.get("file")
        if uploaded is None:
            raise BadRequest("file is required (multipart/form-data field 'file')", code="FILE_REQUIRED")
        if uploaded.size is not None and uploaded.size > MAX_BYTES:
            raise BadRequest(TOO_LARGE, code="ATTACHMENT_TOO_LARGE")
        content = uploaded.read(MAX_BYTES + 1)
        upload = upload_create(workspace_id=workspace.pk, file_name=uploaded.name, content=content)
        return Response({"url": upload.url, "name": upload.name, "mimeType": upload.mime_type, "size": upload.size},
                        status=201)


@require_safe
def upload_file_view(request: HttpRequest, workspace_id: str, token: str, filename: str) -> HttpResponse:
    """Public (the URL is the secret): the stored bytes, inline, with the type detected at upload.

    Proxied from the media storage whatever it is (disk or a private bucket): the URL stays the one the
    upload answered, never expires while the upload lives, and stops working the moment the retention
    trashes it (docs/attachments.md "Serving")."""
    upload = upload_get(workspace_id=workspace_id, token=token, filename=filename)
    if upload is None:
        raise Http404("upload not found")
    if request.method == "HEAD":
        response = HttpResponse(content_type=upload.mime_type)
    else:
        try:
            response = FileResponse(media_storage().open_stream(upload.file_key), content_type=upload.mime_type)
        except FileNotFoundError:  # trashed and deleted between the two reads
            raise Http404("upload not found")
    response["Content-Length"] = str(upload.size)
    response["Content-Disposition"] = content_disposition_header(as_attachment=False, filename=upload.name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "public, max-age=86400"
    return response
