"""The one HTTP seam for relay calls: tests mock here (or with `responses`)."""

from __future__ import annotations

from typing import Any

import requests

_session = requests.Session()
_session.headers["User-Agent"] = "Tuco/1.0 (+relay client)"


def relay_request(method: str, url: str, *, timeout: tuple[float, float], **kwargs: Any) -> requests.Response:
    """One HTTP call to a relay with explicit (connect, read) timeouts; never follows redirects."""
    return _session.request(method, url, timeout=timeout, allow_redirects=False, **kwargs)
