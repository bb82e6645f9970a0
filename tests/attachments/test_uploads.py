"""POST /api/uploads, the public file view, the ownership check and reading uploads in the send path."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from messaging.attachments import errors as e
from messaging.attachments.errors import AttachmentError
from messaging.attachments.fetch import attachment_fetch
from messaging.attachments.types import MAX_BYTES
from messaging.attachments.uploads import NOT_OWNED, attachment_urls_check_ownership, upload_create
from tests.attachments import samples
from tests.attachments.helpers import upload_dirs
from tests.conftest import client_for
from tests.factories import WorkspaceFactory
from tests.storage.media import Media
from tuco.errors import Forbidden, exception_handler
from tuco.services import api_key_create

PUBLIC = "https://tuco.example"
pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.attachments.urls")]


@pytest.fixture(autouse=True)
def public_url(settings: Any) -> None:
    settings.TUCO_PUBLIC_URL = PUBLIC


def post_file(api: Any, content: bytes, name: str = "logo", content_type: str = "application/octet-stream",
              **extra: Any) -> Any:
    return api.post("/api/uploads", {"file": SimpleUploadedFile(name, content, content_type=content_type)},
                    format="multipart", **extra)


def upload_path(url: str) -> str:
    assert url.startswith(PUBLIC)
    return url[len(PUBLIC):]


def test_upload_answers_201_with_the_url_and_the_real_type(api: Any, workspace: Any, media: Media) -> None:
    response = post_file(api, samples.png(), name="logo.jpg", content_type="image/jpeg")
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"url", "name", "mimeType", "size"}
    assert (body["name"], body["mimeType"], body["size"]) == ("logo.png", "image/png", len(samples.png()))
    match = re.fullmatch(rf"{re.escape(PUBLIC)}/uploads/{workspace.pk}/([A-Za-z0-9_-]{{32}})/logo\.png", body["url"])
    assert match, body["url"]
    again = post_file(api, samples.png(), name="logo.jpg").json()
    assert again["url"] != body["url"]  # a fresh unguessable token each time
    assert len(upload_dirs(media)) == 2


def test_the_file_is_served_inline_with_its_type(api: Any, client: Any) -> None:
    body = post_file(api, samples.pdf(), name="Price list.pdf").json()
    assert body["url"].endswith("/Price%20list.pdf")
    response = client.get(upload_path(body["url"]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == samples.pdf()
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline")
    assert 'filename="Price list.pdf"' in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Length"] == str(len(samples.pdf()))
    assert client.head(upload_path(body["url"])).status_code == 200
    assert client.post(upload_path(body["url"])).status_code == 405


def test_anything_but_the_exact_url_is_404(api: Any, client: Any, workspace: Any) -> None:
    path = upload_path(post_file(api, samples.gif(), name="a.gif").json()["url"])
    _, _, ws, token, name = path.split("/")
    other = WorkspaceFactory()
    changed = token[:-1] + ("y" if token.endswith("x") else "x")  # one character off, never the token itself
    for wrong in (f"/uploads/{ws}/{token}/b.gif", f"/uploads/{ws}/{changed}/a.gif",
                  f"/uploads/{other.pk}/{token}/a.gif", f"/uploads/{ws}/..%2F..%2F/a.gif", f"/uploads/{ws}/{token}"):
        assert client.get(wrong).status_code == 404, wrong
    assert client.get(path).status_code == 200


def test_caf_upload_keeps_the_voice_note_extension(api: Any) -> None:
    body = post_file(api, samples.caf(), name="Voice memo.mp3").json()
    assert (body["name"], body["mimeType"]) == ("Voice memo.caf", "audio/x-caf")


@pytest.mark.parametrize("key", ["html", "svg", "zip", "avif", "text"])
def test_unsupported_type_is_400_and_writes_nothing(api: Any, media: Media, key: str) -> None:
    response = post_file(api, samples.REFUSED[key](), name="photo.png", content_type="image/png")
    assert response.status_code == 400
    assert response.json()["code"] == "ATTACHMENT_UNSUPPORTED_TYPE"
    assert "Supported:" in response.json()["error"]
    assert upload_dirs(media) == []


def test_empty_file_is_400(api: Any, media: Media) -> None:
    response = post_file(api, b"", name="x.png")
    assert (response.status_code, response.json()["code"]) == (400, "ATTACHMENT_EMPTY")
    assert upload_dirs(media) == []


def test_25_mb_is_the_limit(api: Any, media: Media) -> None:
    exact = samples.png() + b"\x00" * (MAX_BYTES - len(samples.png()))
    assert post_file(api, exact, name="big.png").status_code == 201
    response = post_file(api, exact + b"\x00", name="bigger.png")
    assert response.status_code == 400
    assert response.json() == {"error": "File too large: the limit is 25 MB", "code": "ATTACHMENT_TOO_LARGE"}
    assert len(upload_dirs(media)) == 1


def test_an_oversized_body_is_refused_before_it_is_read(api: Any, media: Media) -> None:
    response = post_file(api, samples.png(), name="x.png", CONTENT_LENGTH=str(MAX_BYTES * 4))
    assert (response.status_code, response.json()["code"]) == (400, "ATTACHMENT_TOO_LARGE")
    assert upload_dirs(media) == []


def test_missing_file_field_and_wrong_content_type(api: Any) -> None:
    response = api.post("/api/uploads", {"other": "x"}, format="multipart")
    assert (response.status_code, response.json()["code"]) == (400, "FILE_REQUIRED")
    response = api.post("/api/uploads", {"file": "x"}, format="json")
    assert response.status_code == 415


def test_auth_and_read_only(client: Any, db: Any, media: Media) -> None:
    response = client.post("/api/uploads", {"file": SimpleUploadedFile("a.png", samples.png())})
    assert response.status_code == 401
    past_due = WorkspaceFactory(billing_status="past_due")
    _, raw = api_key_create(workspace=past_due)
    assert post_file(client_for(raw), samples.png()).status_code == 402
    assert upload_dirs(media) == []


def test_schema_documents_the_upload_endpoint(client: Any) -> None:
    schema = client.get("/api/schema", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/uploads"]["post"]
    assert "multipart/form-data" in operation["requestBody"]["content"]
    assert {"201", "400", "401"} <= set(operation["responses"])
    assert not any(p.startswith("/uploads/") for p in schema["paths"])  # the public file view is not API


# --- ownership (the send API's 403) -------------------------------------------------------------
def test_another_workspaces_upload_url_is_403_with_the_spec_text(workspace: Any) -> None:
    url = upload_create(workspace_id=workspace.pk, file_name="a.png", content=samples.png()).url
    other = WorkspaceFactory()
    attachment_urls_check_ownership(workspace=workspace, urls=[url, "https://cdn.example/a.png"])
    for urls in ([url], ["https://cdn.example/a.png", url], [url.replace("https://", "http://")],
                 [url.replace("tuco.example", "TUCO.example.")]):
        with pytest.raises(Forbidden) as info:
            attachment_urls_check_ownership(workspace=other, urls=urls)
        response = exception_handler(info.value, {})
        assert response is not None and response.status_code == 403
        assert response.data == {"error": "Attachment URL does not belong to this organization"}


@pytest.mark.parametrize("tail", ["{ws}/{token}/b.png", "{ws}/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/a.png",
                                  "{ws}/{token}", "{ws}/{token}/a.png/extra", ""])
def test_a_url_of_our_store_that_does_not_exist_is_403(workspace: Any, tail: str) -> None:
    upload = upload_create(workspace_id=workspace.pk, file_name="a.png", content=samples.png())
    url = f"{PUBLIC}/uploads/" + tail.format(ws=workspace.pk, token=upload.token)
    with pytest.raises(Forbidden) as info:
        attachment_urls_check_ownership(workspace=workspace, urls=[url])
    assert info.value.error == NOT_OWNED


def test_other_hosts_and_ports_pass(workspace: Any) -> None:
    attachment_urls_check_ownership(workspace=workspace, urls=[
        "https://utfs.io/f/abc.png", "https://x.public.blob.vercel-storage.com/uploads/a.png",
        "https://tuco.example:8443/uploads/x/y/z.png", "https://tuco.example/other/uploads/a.png"])


def test_send_path_reads_an_upload_from_disk(workspace: Any) -> None:
    upload = upload_create(workspace_id=workspace.pk, file_name="note", content=samples.caf())
    fetched = attachment_fetch(url=upload.url, name=None, line_id="a" * 24, workspace_id=workspace.pk)
    assert (fetched.name, fetched.mime_type, fetched.is_audio_message) == ("note.caf", "audio/x-caf", True)
    assert fetched.content == samples.caf() and fetched.cache_hit is False
    other = WorkspaceFactory()
    with pytest.raises(AttachmentError) as info:
        attachment_fetch(url=upload.url, name=None, line_id="a" * 24, workspace_id=other.pk)
    assert info.value.code == e.ATTACHMENT_NOT_FOUND and info.value.permanent
