"""SSRF: with TUCO_ALLOW_PRIVATE_URLS=false nothing private is fetched — not the URL, not a redirect hop.

The test servers live on loopback (127.0.0.1 and 127.0.0.2), which production refuses. To test
redirects, `as_public` makes 127.0.0.1 count as a public address (it plays an internet host that
redirects); 127.0.0.2 keeps playing the internal host. Both layers are tested: the per-hop
`check_url` (resolution before the request) and `guarded_session()` (the socket's real peer after
connecting — what stops DNS rebinding) with the first layer switched off.
"""

from __future__ import annotations

from typing import Any

import pytest

import tuco.urlsafety
from messaging.attachments import download
from messaging.attachments import errors as e
from messaging.attachments.errors import AttachmentError
from messaging.attachments.fetch import attachment_fetch
from tests.attachments import samples
from tests.attachments.fileserver import FileServer

LINE = "aaaaaaaaaaaaaaaaaaaaaaaa"
WORKSPACE = "bbbbbbbbbbbbbbbbbbbbbbbb"


def fetch(url: str) -> Any:
    return attachment_fetch(url=url, name=None, line_id=LINE, workspace_id=WORKSPACE)


def blocked(url: str) -> AttachmentError:
    with pytest.raises(AttachmentError) as info:
        fetch(url)
    assert info.value.code == e.ATTACHMENT_BLOCKED_URL and info.value.permanent, info.value
    return info.value


@pytest.fixture
def production(settings: Any) -> None:
    settings.TUCO_ALLOW_PRIVATE_URLS = False


@pytest.fixture
def as_public(monkeypatch: pytest.MonkeyPatch, production: None) -> None:
    real = tuco.urlsafety.address_is_public
    monkeypatch.setattr(tuco.urlsafety, "address_is_public", lambda ip: ip == "127.0.0.1" or real(ip))


@pytest.mark.usefixtures("production")
def test_private_initial_url_is_refused_before_any_request(fileserver: FileServer) -> None:
    url = fileserver.add("/files/a.png", samples.png())
    assert "private, loopback or link-local" in blocked(url).message
    assert fileserver.hits == []


@pytest.mark.usefixtures("production")
@pytest.mark.parametrize("url", [
    "http://localhost:{port}/files/a.png",
    "http://[::1]:{port}/files/a.png",
    "http://0.0.0.0:{port}/files/a.png",
    "http://2130706433:{port}/files/a.png",  # 127.0.0.1 as one decimal number: caught after DNS resolution
    "http://10.0.0.5/files/a.png",
    "http://192.168.1.1/files/a.png",
    "http://169.254.169.254/latest/meta-data/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://user:pw@example.com/a.png",
    "ftp://example.com/a.png",
])
def test_private_and_metadata_hosts_are_refused(fileserver: FileServer, url: str) -> None:
    fileserver.add("/files/a.png", samples.png())
    blocked(url.format(port=fileserver.port))
    assert fileserver.hits == []


def test_private_urls_are_fetched_when_allowed(fileserver: FileServer) -> None:
    assert fetch(fileserver.add("/files/a.png", samples.png())).mime_type == "image/png"


@pytest.mark.usefixtures("as_public")
def test_a_public_host_is_fetched_over_plain_http(fileserver: FileServer) -> None:
    """The control for the redirect tests: with 127.0.0.1 playing a public host, downloads work."""
    fileserver.add("/files/a.png", samples.png())
    assert fetch(fileserver.url("/redirect/1?to=/files/a.png")).mime_type == "image/png"


@pytest.mark.usefixtures("as_public")
def test_redirect_to_a_private_address_is_refused(fileserver: FileServer, private_server: FileServer) -> None:
    secret = private_server.add("/files/secret.png", samples.png())
    error = blocked(fileserver.url(f"/redirect/1?to={secret}"))
    assert "127.0.0.2" in error.message
    assert private_server.hits == []


@pytest.mark.usefixtures("as_public")
@pytest.mark.parametrize("target", ["http://169.254.169.254/latest/meta-data/", "http://localhost/x.png",
                                    "http://[::ffff:127.0.0.2]/x.png"])
def test_redirect_to_metadata_or_loopback_names_is_refused(fileserver: FileServer, target: str) -> None:
    blocked(fileserver.url(f"/redirect/2?to={target}"))


@pytest.mark.usefixtures("as_public")
def test_peer_check_catches_what_the_hop_check_missed(fileserver: FileServer, private_server: FileServer,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS rebinding: the name looked public when checked, the connection lands on a private address."""
    monkeypatch.setattr(download, "check_hop", lambda url: url)
    secret = private_server.add("/files/secret.png", samples.png())
    error = blocked(fileserver.url(f"/redirect/1?to={secret}"))
    assert "refused to talk to private address 127.0.0.2" in error.message
    error = blocked(secret)  # the initial URL goes through the guarded session too
    assert "127.0.0.2" in error.message
    assert private_server.hits == []


def test_redirect_to_a_private_address_is_followed_when_allowed(fileserver: FileServer,
                                                                private_server: FileServer) -> None:
    secret = private_server.add("/files/secret.png", samples.png())
    assert fetch(fileserver.url(f"/redirect/1?to={secret}")).content == samples.png()
    assert private_server.hits == ["/files/secret.png"]
