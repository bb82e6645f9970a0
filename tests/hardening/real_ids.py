"""Real ids for generated path parameters, so a fuzzer's calls reach the success paths too.

Shared by the suite's schemathesis test (tests/hardening/test_schemathesis.py) and the long
fuzz run's schemathesis hooks (tests/hardening/fuzz_hooks.py, in the schemathesis process).
It needs only the server's URL, a key and the seeded ids: no Django. A DELETE gets a fresh
row, created through the API, so the seeded rows stay for the other operations.
"""

from __future__ import annotations

import itertools
from typing import Any

import requests

_fresh = itertools.count(1)


class RealIds:
    def __init__(self, base_url: str, auth: dict[str, str], known: dict[str, str], session: requests.Session) -> None:
        self.base_url = base_url
        self.auth = auth
        # path parameter name -> an existing row's id: lead_id, entry_id, message_id, webhook_id, event_id
        self.known = known
        self.session = session

    def _create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        # Through the API, not the ORM: the caller may be another process, or inside a transaction the server
        # would never see.
        response = self.session.post(f"{self.base_url}{path}", json=body, headers=self.auth, timeout=30)
        assert response.status_code in (200, 201), response.text
        return response.json()

    def for_case(self, method: str, path_parameters: dict[str, Any]) -> dict[str, str]:
        """Ids of existing rows for an operation's path parameters (fresh rows for a DELETE)."""
        if method.upper() == "DELETE":
            n = next(_fresh) % 10000
            if "lead_id" in path_parameters:
                return {"lead_id": self._create("/api/leads", {"phone": f"+1202888{n:04d}"})["leadId"]}
            if "entry_id" in path_parameters:
                return {"entry_id": self._create("/api/dnc", {"phone": f"+1904888{n:04d}"})["entry"]["_id"]}
            if "webhook_id" in path_parameters:
                # Generated creates may have filled the workspace's 25 webhooks: delete one of those first.
                listed = self.session.get(f"{self.base_url}/api/webhooks", headers=self.auth, timeout=30).json()
                others = [hook["id"] for hook in listed["webhooks"] if hook["id"] != self.known["webhook_id"]]
                if others:
                    return {"webhook_id": others[0]}
                body = {"url": f"{self.base_url}/health/live", "events": ["message.sent"], "name": f"doomed {n}"}
                return {"webhook_id": self._create("/api/webhooks", body)["id"]}
        missing = set(path_parameters) - set(self.known)
        assert not missing, f"no real id for path parameters {missing}"
        return {name: self.known[name] for name in path_parameters}
