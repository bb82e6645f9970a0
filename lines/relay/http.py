"""The one HTTP seam for relay calls: tests mock here (or with `responses`).

Each call is bounded as a whole (connect, headers, body: tuco.http), and so is what the relay may answer.
"""

from __future__ import annotations

from typing import Any

import requests
from django.conf import settings

from tuco.http import bounded_request

_session = requests.Session()
_session.headers["User-Agent"] = "Tuco/1.0 (+relay client)"


def relay_request(method: str, url: str, *, connect_timeout: float, deadline: float,
                  **kwargs: Any) -> requests.Response:
    """One HTTP call to a relay, done within `deadline` seconds; never follows redirects."""
    return bounded_request(_session, method, url, connect_timeout=connect_timeout, deadline=deadline,
                           max_bytes=settings.TUCO_RELAY_MAX_RESPONSE_BYTES, allow_redirects=False, **kwargs)
