"""Uploads and the attachment cache in an S3 bucket (moto's server over HTTP): hosts with separate local disks
share them, bucket URLs are judged like upload URLs (ours, this workspace's or 403), a failing store is a
transient error, and TUCO_STORAGE=s3 builds the storage from the environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
import time_machine
from botocore.config import Config
from django.core.files.uploadedfile import SimpleUploadedFile

from devtools.relay_simulator import SimConfig, start
from messaging.attachments import errors as e
from messaging.attachments.errors import AttachmentError
from messaging.attachments.fetch import attachment_fetch
from messaging.attachments.upload_retention import STAGING_GRACE_SECONDS, uploads_prune
from messaging.attachments.uploads import NOT_OWNED, attachment_urls_check_ownership, upload_create
from messaging.models import Message
from messaging.send.dispatcher import send_message
from tests.attachments import samples
from tests.factories import DeviceFactory, LineFactory, WorkspaceFactory
from tests.storage.media import Media
from tests.storage.s3server import S3Server
from tuco.errors import Forbidden
from tuco.storage import media_storage

PUBLIC = "https://tuco.example"
pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.attachments.urls")]


@pytest.fixture(autouse=True)
def public_url(settings: Any) -> None:
    settings.TUCO_PUBLIC_URL = PUBLIC


def another_host(settings: Any, tmp_path: Path, name: str) -> Path:
    """The same configuration on a host with a local disk of its own (an empty MEDIA_ROOT)."""
    root = tmp_path / name
    root.mkdir()
    settings.MEDIA_ROOT = root
    return root


def test_a_worker_on_another_host_sends_an_upload(api: Any, workspace: Any, settings: Any, tmp_path: Path,
                                                  media: Media) -> None:
    """Web (host A) stores the upload; the worker (host B, its own empty disk) sends it through the relay."""
    simulator = start(SimConfig(port=0, password="pw", send_delay_ms=0, deliver_after_ms=None, read_after_ms=None,
                                log_requests=False))
    try:
        LineFactory(workspace=workspace, device=DeviceFactory(workspace=workspace, relay_url=simulator.url,
                                                              relay_password="pw"))
        url = api.post("/api/uploads", {"file": SimpleUploadedFile("promo.png", samples.png())},
                       format="multipart").json()["url"]
        created = api.post("/api/messages", {"message": "hi", "recipientPhone": "+12025551234",
                                             "attachmentUrls": [url]}, format="json")
        assert created.status_code == 201, created.content
        another_host(settings, tmp_path, "worker-host")
        message_id = created.json()["message"]["_id"]
        outcome = send_message(message_id)
        sent = requests.get(f"{simulator.url}/sim/v1/sent", timeout=5).json()["data"]
    finally:
        simulator.stop()
    if media.backend == "s3":
        assert outcome == "sent" and Message.objects.get(pk=message_id).status == "sent"
        assert [a for row in sent for a in row["attachments"]] == [
            {"name": "promo.png", "mimeType": "image/png", "size": len(samples.png())}]
    else:  # the reason for object storage: a local disk is not shared
        assert Message.objects.get(pk=message_id).status == "failed"
        assert [a for row in sent for a in row["attachments"]] == []


s3_only = pytest.mark.storage_backends("s3")  # about the bucket itself


@s3_only
def test_bucket_urls_are_ours_and_only_this_workspaces(workspace: Any, media: Media) -> None:
    upload = upload_create(workspace_id=workspace.pk, file_name="a.png", content=samples.png())
    presigned = media.storage.url(upload.file_key)  # a presigned GET of the object itself
    plain = presigned.split("?", 1)[0]
    attachment_urls_check_ownership(workspace=workspace, urls=[presigned, plain])
    fetched = attachment_fetch(url=presigned, name=None, line_id="a" * 24, workspace_id=workspace.pk)
    assert fetched.content == samples.png() and fetched.name == "a.png"  # read from the store, no HTTP
    other = WorkspaceFactory()
    for url in (presigned, plain, plain.replace("/file", "/meta.json"),
                media.storage.url("attachment-cache/blobs/00/" + "0" * 64),
                # the same bucket outside our prefix is still the bucket: refused, never fetched over HTTP
                plain.replace(f"/{media.storage.location}/", "/someone-else/")):
        with pytest.raises(Forbidden) as info:
            attachment_urls_check_ownership(workspace=other, urls=[url])
        assert info.value.error == NOT_OWNED
    with pytest.raises(AttachmentError) as failed:
        attachment_fetch(url=presigned, name=None, line_id="a" * 24, workspace_id=other.pk)
    assert failed.value.code == e.ATTACHMENT_NOT_FOUND and failed.value.permanent


@s3_only
def test_virtual_hosted_and_aws_forms_of_the_bucket_are_recognized(workspace: Any, media: Media,
                                                                   settings: Any, s3_server: S3Server) -> None:
    upload = upload_create(workspace_id=workspace.pk, file_name="a.png", content=samples.png())
    key = f"{media.storage.location}/{upload.file_key}"
    port = s3_server.port
    storage = media.storage
    assert storage.key_for_url(f"http://tuco-test.127.0.0.1:{port}/{key}?X-Amz-Signature=x") == upload.file_key
    assert storage.key_for_url(f"http://127.0.0.1:{port}/tuco-test/{key}") == upload.file_key
    assert storage.key_for_url(f"http://127.0.0.1:{port + 1}/tuco-test/{key}") is None  # another service
    assert storage.key_for_url(f"http://127.0.0.1:{port}/other-bucket/{key}") is None
    options = {**s3_server.storage_options(prefix="p"), "endpoint_url": None, "region_name": "eu-west-3"}
    settings.STORAGES = {**settings.STORAGES, "tuco_media": {"BACKEND": "tuco.storage.S3MediaStorage",
                                                             "OPTIONS": options}}
    aws = media_storage()
    for url in ("https://tuco-test.s3.amazonaws.com/p/uploads/w/t/file",
                "https://tuco-test.s3.eu-west-3.amazonaws.com/p/uploads/w/t/file?X-Amz-Expires=60",
                "https://s3.eu-west-3.amazonaws.com/tuco-test/p/uploads/w/t/file"):
        assert aws.key_for_url(url) == "uploads/w/t/file", url
    assert aws.key_for_url("https://cdn.example/p/uploads/w/t/file") is None


@s3_only
def test_an_unreachable_store_is_a_transient_error(workspace: Any, settings: Any, s3_server: S3Server) -> None:
    upload = upload_create(workspace_id=workspace.pk, file_name="a.png", content=samples.png())
    dead = {**s3_server.storage_options(), "endpoint_url": "http://127.0.0.1:9"}
    dead["client_config"] = dead["client_config"].merge(Config(retries={"max_attempts": 1}, connect_timeout=1))
    settings.STORAGES = {**settings.STORAGES, "tuco_media": {"BACKEND": "tuco.storage.S3MediaStorage",
                                                             "OPTIONS": dead}}
    with pytest.raises(AttachmentError) as info:
        attachment_fetch(url=upload.url, name=None, line_id="a" * 24, workspace_id=workspace.pk)
    assert info.value.code == e.ATTACHMENT_DOWNLOAD_FAILED and info.value.permanent is False


@s3_only
def test_leftovers_and_the_older_layout_are_cleaned_after_the_grace(workspace: Any, media: Media) -> None:
    upload_create(workspace_id=workspace.pk, file_name="a.png", content=samples.png())
    ws = workspace.pk
    leftovers = [f"uploads/{ws}/{'B' * 32}/file",  # bytes whose upload never got its meta.json
                 "uploads/.tmp/tmpab12/file", f"uploads/.trash/{ws}/{'C' * 32}/meta.json"]  # the older layout
    for name in leftovers:
        media.write(name, b"x")
    before = media.names("uploads")
    uploads_prune(now=None)
    assert media.names("uploads") == before  # young: may be an upload in progress
    with time_machine.travel(time.time() + STAGING_GRACE_SECONDS + 60, tick=False):
        uploads_prune()
    assert sorted(set(before) - set(media.names("uploads"))) == sorted(leftovers)
    assert len(media.names("uploads")) == 2  # the real upload: file + meta.json


@s3_only
def test_tuco_storage_s3_settings_from_the_environment() -> None:
    env = {**os.environ, "TUCO_STORAGE": "s3", "TUCO_S3_BUCKET": "media", "TUCO_S3_ENDPOINT_URL": "http://minio:9000",
           "TUCO_S3_REGION": "eu-central-1", "TUCO_S3_ACCESS_KEY_ID": "AK", "TUCO_S3_SECRET_ACCESS_KEY": "SK",
           "TUCO_S3_ADDRESSING_STYLE": "path", "TUCO_S3_PREFIX": "/tuco/prod/",
           "DJANGO_SETTINGS_MODULE": "tuco.settings", "DEBUG": "true"}
    code = ("import json, django; django.setup(); from tuco.storage import media_storage; s = media_storage(); "
            "print(json.dumps([type(s).__name__, s.bucket_name, s.endpoint_url, s.region_name, s.access_key, "
            "s.secret_key, s.location, s.client_config.s3]))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [
        "S3MediaStorage", "media", "http://minio:9000", "eu-central-1", "AK", "SK", "tuco/prod",
        {"addressing_style": "path"}]
    env["TUCO_STORAGE"] = "nfs"
    bad = subprocess.run([sys.executable, "-c", "import django; django.setup()"], env=env, capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode != 0 and "TUCO_STORAGE must be 'filesystem' or 's3'" in bad.stderr
