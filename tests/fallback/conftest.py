from __future__ import annotations

from typing import Any

import pytest

from messaging.send import fallback as services
from tests.fallback.factories import FallbackConfigFactory


@pytest.fixture(autouse=True)
def _no_retry_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries between provider tries run without the production pauses."""
    monkeypatch.setattr(services, "RETRY_DELAYS_SECONDS", (0.0, 0.0))


@pytest.fixture
def twilio_config(workspace: Any) -> Any:
    return FallbackConfigFactory(workspace=workspace)


@pytest.fixture
def ghl_config(workspace: Any) -> Any:
    from tests.fallback.factories import GHL_LOCATION, GHL_TOKEN

    return FallbackConfigFactory(workspace=workspace, provider="ghl", twilio_account_sid="", twilio_auth_token="",
                                 twilio_from_number="", ghl_location_id=GHL_LOCATION, ghl_api_token=GHL_TOKEN)
