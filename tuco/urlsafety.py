"""URLs the server fetches or calls (webhooks, fallback webhooks, attachments) must not reach inside.

Two layers:
- `check_url()` at configuration time: scheme, host, https in production, and
  every address the host resolves to must be public.
- `guarded_session()` at request time: the socket's *actual* peer address is
  checked right after connecting, so DNS rebinding between the check and the
  request cannot smuggle in a private address; redirects are re-checked the
  same way because every hop opens a guarded connection.

`TUCO_ALLOW_PRIVATE_URLS=true` lifts both: `make run` (tuco.run) and the test settings turn it on, because
their relay simulator and webhook receivers listen on 127.0.0.1; the default is false.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from tuco.http import WatchedPoolMixin

# Cloud metadata endpoints that are not covered by "not global" on every platform.
_METADATA_HOSTS = {"metadata.google.internal", "metadata", "instance-data"}


class UnsafeUrl(ValueError):
    """The URL is malformed or points at an address the server must not call."""


# IPv6 prefixes whose last 32 bits are an IPv4 address the packet is translated to: judged by that address.
_IPV4_TRANSLATED = (
    ipaddress.ip_network("::ffff:0:0/96"),  # IPv4-mapped
    ipaddress.ip_network("::ffff:0:0:0/96"),  # IPv4-translated (SIIT)
    ipaddress.ip_network("64:ff9b::/96"),  # NAT64 well-known prefix
)
# Never a public destination, whatever they embed: IPv4-compatible (deprecated; "::" and "::1" are
# caught as unspecified/loopback) and NAT64 local-use.
_NEVER_PUBLIC = (ipaddress.ip_network("::/96"), ipaddress.ip_network("64:ff9b:1::/48"))


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses a tunnel form carries (6to4 2002::/16; Teredo 2001::/32: server and client)."""
    found = [address.sixtofour] if address.sixtofour else []
    if address.teredo:
        found.extend(address.teredo)
    return found


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return bool(address.is_global) and not (address.is_multicast or address.is_reserved
                                            or address.is_link_local or address.is_loopback)


def address_is_public(ip: str) -> bool:
    """Whether the server may connect to `ip`. An IPv6 address that carries an IPv4 one (mapped,
    translated, NAT64, 6to4, Teredo) is public only if that IPv4 address is too."""
    address = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address):
        if any(address in network for network in _IPV4_TRANSLATED):
            return _is_public(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if address.is_unspecified or address.is_loopback or any(address in net for net in _NEVER_PUBLIC):
            return False
        if not all(_is_public(embedded) for embedded in _embedded_ipv4(address)):
            return False
    return _is_public(address)


def private_urls_allowed() -> bool:
    return bool(settings.TUCO_ALLOW_PRIVATE_URLS)


def check_url(url: str, *, allow_private: bool | None = None, resolve: bool = True) -> str:
    """Validate a URL the server will call; return it stripped. Raises UnsafeUrl with a readable reason."""
    allow = private_urls_allowed() if allow_private is None else allow_private
    text = (url or "").strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl(f"invalid URL: {exc}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeUrl("URL must be an absolute http(s) URL")
    if parts.username or parts.password:
        raise UnsafeUrl("URL must not contain credentials")
    if allow:
        return text
    if parts.scheme != "https":
        raise UnsafeUrl("URL must use https")
    host = parts.hostname.lower().rstrip(".")
    if host in _METADATA_HOSTS or host == "localhost" or host.endswith((".localhost", ".internal", ".local")):
        raise UnsafeUrl(f"host {host!r} is not allowed")
    try:
        ipaddress.ip_address(host)
        literal = True
    except ValueError:
        literal = False
    if literal and not address_is_public(host):
        raise UnsafeUrl(f"address {host} is private, loopback or link-local")
    if resolve and not literal:
        try:
            infos = socket.getaddrinfo(host, port or (443 if parts.scheme == "https" else 80),
                                       proto=socket.IPPROTO_TCP)
        except socket.gaierror as exc:
            raise UnsafeUrl(f"host {host!r} does not resolve") from exc
        for info in infos:
            ip = str(info[4][0])
            if not address_is_public(ip):
                raise UnsafeUrl(f"host {host!r} resolves to a private address ({ip})")
    return text


class BlockedAddress(requests.exceptions.ConnectionError):
    """The connection reached an address the server must not call."""


def _guard(sock: socket.socket) -> socket.socket:
    peer = sock.getpeername()[0]
    if not address_is_public(peer):
        sock.close()
        raise BlockedAddress(f"refused to talk to private address {peer}")
    return sock


class _GuardedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _guard(super()._new_conn())


class _GuardedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        return _guard(super()._new_conn())


class _GuardedHTTPPool(WatchedPoolMixin, HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(WatchedPoolMixin, HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _GuardedAdapter(HTTPAdapter):
    watched = True  # its pools tell tuco.http's deadline watchdog which connection a call took

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}


def guarded_session(*, allow_private: bool | None = None) -> requests.Session:
    """A requests Session for outbound calls to integrator-supplied URLs.

    Environment proxies are ignored (they would hide the real peer). With
    private URLs disallowed, every connection (including each redirect hop)
    is checked against the peer's real address.
    """
    session = requests.Session()
    session.trust_env = False
    allow = private_urls_allowed() if allow_private is None else allow_private
    if not allow:
        adapter = _GuardedAdapter()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
    return session


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """Every exception inside a requests/urllib3 error: args, causes, contexts and `reason`s, once each."""
    stack: list[BaseException] = [exc]
    seen: set[int] = set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack.extend(a for a in current.args if isinstance(a, BaseException))
        stack.extend(e for e in (current.__cause__, current.__context__, getattr(current, "reason", None))
                     if isinstance(e, BaseException))


def blocked_reason(exc: BaseException) -> str | None:
    """The BlockedAddress message hidden inside a requests/urllib3 error chain, if any."""
    return next((str(e) for e in exception_chain(exc) if isinstance(e, BlockedAddress)), None)
