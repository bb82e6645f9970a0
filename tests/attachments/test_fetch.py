"""attachment_fetch against a real local HTTP server: types, names, limits, timeouts, statuses, redirects."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import pytest

from messaging.attachments import errors as e
from messaging.attachments.errors import AttachmentError
from messaging.attachments.fetch import attachment_fetch
from messaging.attachments.types import MAX_BYTES
from tests.attachments import samples
from tests.attachments.fileserver import MB, FileServer
from tests.attachments.helpers import cache_entries
from tests.storage.media import Media

LINE = "aaaaaaaaaaaaaaaaaaaaaaaa"
WORKSPACE = "bbbbbbbbbbbbbbbbbbbbbbbb"


def fetch(url: str, name: str | None = None, line_id: str = LINE) -> Any:
    return attachment_fetch(url=url, name=name, line_id=line_id, workspace_id=WORKSPACE)


def fetch_error(url: str, name: str | None = None) -> AttachmentError:
    with pytest.raises(AttachmentError) as info:
        fetch(url, name)
    return info.value


@pytest.mark.parametrize("key", sorted(samples.ACCEPTED))
def test_each_accepted_type_downloads_with_its_real_type_and_name(fileserver: FileServer, key: str) -> None:
    make, mime, extension = samples.ACCEPTED[key]
    content = make()
    url = fileserver.add("/files/sample", content, content_type="text/plain")  # the header lies; bytes win
    result = fetch(url)
    assert result.content == content and result.size == len(content)
    assert result.mime_type == mime
    assert result.name == f"sample.{extension}"
    assert result.is_audio_message is (key == "caf")
    assert result.cache_hit is False
    assert result.sha256 == hashlib.sha256(content).hexdigest()
    relay = result.to_relay()
    assert (relay.name, relay.mime_type, relay.is_audio_message) == (result.name, mime, key == "caf")


def test_generic_audio_is_sent_as_a_plain_file(fileserver: FileServer) -> None:
    result = fetch(fileserver.add("/files/song.mp3", samples.mp3()))
    assert (result.mime_type, result.name, result.is_audio_message) == ("audio/mpeg", "song.mp3", False)


@pytest.mark.parametrize("key", sorted(samples.REFUSED))
def test_unsupported_types_fail_permanently_and_are_not_cached(fileserver: FileServer, media: Media,
                                                               key: str) -> None:
    error = fetch_error(fileserver.add("/files/thing.png", samples.REFUSED[key](), content_type="image/png"))
    assert error.code == e.ATTACHMENT_UNSUPPORTED_TYPE and error.permanent
    assert cache_entries(media) == []


def test_empty_file_fails_permanently(fileserver: FileServer) -> None:
    error = fetch_error(fileserver.add("/files/empty.png", b""))
    assert error.code == e.ATTACHMENT_EMPTY and error.permanent


@pytest.mark.parametrize(("path", "name", "key", "expected"), [
    ("/files/clip.jpeg", None, "jpg", "clip.jpeg"),
    ("/files/my%20photo.png", None, "png", "my photo.png"),
    ("/files/photo.png", None, "jpg", "photo.jpg"),
    ("/files/download", "Voice note.mp3", "caf", "Voice note.caf"),
    ("/files/x.bin", "Promo", "mp4", "Promo.mp4"),
    ("/files/", None, "pdf", "attachment.pdf"),
])
def test_name_comes_from_attachment_names_or_the_url(fileserver: FileServer, path: str, name: str | None,
                                                     key: str, expected: str) -> None:
    fileserver.files[path] = (samples.ACCEPTED[key][0](), "application/octet-stream")
    assert fetch(fileserver.url(path), name).name == expected


# --- size -------------------------------------------------------------------------------------
def test_declared_content_length_over_the_cap_fails_before_reading(fileserver: FileServer) -> None:
    started = time.monotonic()
    error = fetch_error(fileserver.url("/big-declared"))
    assert error.code == e.ATTACHMENT_TOO_LARGE and error.permanent
    assert time.monotonic() - started < 5
    assert fileserver.sent.get("/big-declared", 0) < 20 * MB  # we hung up long before the 30 MB


def test_undeclared_stream_stops_at_the_cap(fileserver: FileServer, media: Media) -> None:
    error = fetch_error(fileserver.url("/big-chunked"))
    assert error.code == e.ATTACHMENT_TOO_LARGE and error.permanent
    time.sleep(0.3)  # let the server notice the hang-up
    assert MAX_BYTES <= fileserver.sent["/big-chunked"] < 45 * MB  # read to the cap, not the 64 MB offered
    assert cache_entries(media) == []


def test_a_small_content_length_that_inflates_past_the_cap_is_refused(fileserver: FileServer) -> None:
    """The header says ~40 KB (gzip); the decoded body is 40 MB: the cap counts decoded bytes."""
    error = fetch_error(fileserver.url("/gzip-bomb"))
    assert error.code == e.ATTACHMENT_TOO_LARGE and error.permanent


def test_a_body_shorter_than_its_content_length_is_a_transient_failure(fileserver: FileServer) -> None:
    error = fetch_error(fileserver.url("/short-body"))
    assert error.code == e.ATTACHMENT_DOWNLOAD_FAILED and not error.permanent


# --- time ---------------------------------------------------------------------------------------
def test_read_timeout(fileserver: FileServer, settings: Any) -> None:
    settings.TUCO_ATTACHMENT_READ_TIMEOUT_SECONDS = 0.5
    started = time.monotonic()
    error = fetch_error(fileserver.url("/slow?delay=5"))
    assert error.code == e.ATTACHMENT_TIMEOUT and not error.permanent
    assert time.monotonic() - started < 3


def test_total_wall_clock_limit_stops_a_drip_feed(fileserver: FileServer, settings: Any) -> None:
    settings.TUCO_ATTACHMENT_READ_TIMEOUT_SECONDS = 5  # every read is quick: only the total limit can stop it
    settings.TUCO_ATTACHMENT_TOTAL_TIMEOUT_SECONDS = 1
    started = time.monotonic()
    error = fetch_error(fileserver.url("/drip"))
    assert error.code == e.ATTACHMENT_TIMEOUT and not error.permanent
    assert time.monotonic() - started < 3


def test_total_wall_clock_limit_stops_dribbled_headers(fileserver: FileServer, settings: Any) -> None:
    """Before the headers are in, only the watchdog can stop it: each header line resets the read timeout."""
    settings.TUCO_ATTACHMENT_READ_TIMEOUT_SECONDS = 5
    settings.TUCO_ATTACHMENT_TOTAL_TIMEOUT_SECONDS = 1
    started = time.monotonic()
    error = fetch_error(fileserver.url("/drip-headers"))
    assert error.code == e.ATTACHMENT_TIMEOUT and not error.permanent
    assert time.monotonic() - started < 3


def test_connection_refused_is_transient(fileserver: FileServer) -> None:
    url = fileserver.url("/files/x.png")
    fileserver.close()
    error = fetch_error(url)
    assert error.code == e.ATTACHMENT_DOWNLOAD_FAILED and not error.permanent


# --- statuses ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("status", "code", "permanent"), [
    (404, e.ATTACHMENT_NOT_FOUND, True),
    (410, e.ATTACHMENT_NOT_FOUND, True),
    (403, e.ATTACHMENT_DOWNLOAD_FAILED, True),
    (401, e.ATTACHMENT_DOWNLOAD_FAILED, True),
    (429, e.ATTACHMENT_DOWNLOAD_FAILED, False),
    (408, e.ATTACHMENT_DOWNLOAD_FAILED, False),
    (500, e.ATTACHMENT_DOWNLOAD_FAILED, False),
    (503, e.ATTACHMENT_DOWNLOAD_FAILED, False),
    (304, e.ATTACHMENT_DOWNLOAD_FAILED, True),
])
def test_http_statuses(fileserver: FileServer, media: Media, status: int, code: str, permanent: bool) -> None:
    error = fetch_error(fileserver.url(f"/status/{status}"))
    assert (error.code, error.permanent) == (code, permanent)
    assert str(status) in error.message
    assert cache_entries(media) == []


# --- redirects -------------------------------------------------------------------------------------
def test_three_redirects_are_followed(fileserver: FileServer) -> None:
    fileserver.add("/files/final.gif", samples.gif())
    result = fetch(fileserver.url("/redirect/3?to=/files/final.gif"))
    assert result.mime_type == "image/gif" and result.content == samples.gif()
    assert fileserver.hits == ["/redirect/3", "/redirect/2", "/redirect/1", "/files/final.gif"]


def test_a_fourth_redirect_is_refused_without_being_followed(fileserver: FileServer) -> None:
    fileserver.add("/files/final.gif", samples.gif())
    error = fetch_error(fileserver.url("/redirect/4?to=/files/final.gif"))
    assert error.code == e.ATTACHMENT_TOO_MANY_REDIRECTS and error.permanent
    assert fileserver.hits == ["/redirect/4", "/redirect/3", "/redirect/2", "/redirect/1"]


def test_redirect_name_falls_back_to_the_final_url(fileserver: FileServer) -> None:
    fileserver.add("/files/brochure.pdf", samples.pdf())
    assert fetch(fileserver.url("/redirect/1?to=/files/brochure.pdf")).name == "1.pdf"  # the given URL's name wins
    assert fetch(fileserver.url("/redirect/1?to=/files/brochure.pdf"), "Brochure").name == "Brochure.pdf"
    first = fetch(fileserver.url("/go/?to=/files/brochure.pdf"))  # no name in the given URL
    again = fetch(fileserver.url("/go/?to=/files/brochure.pdf"))
    assert (first.name, first.cache_hit, again.name, again.cache_hit) == ("brochure.pdf", False, "brochure.pdf", True)


def test_redirect_to_a_non_http_scheme_is_refused(fileserver: FileServer) -> None:
    error = fetch_error(fileserver.url("/redirect/1?to=file:///etc/passwd"))
    assert error.code == e.ATTACHMENT_BLOCKED_URL and error.permanent
