"""Fetched attachments go out through the BlueBubbles client as multipart (reference §4), voice notes flagged."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from devtools.relay_simulator import RunningSimulator, SimConfig, start
from lines.relay.bluebubbles import BlueBubblesClient
from messaging.attachments.fetch import attachment_fetch
from tests.attachments import samples
from tests.attachments.fileserver import FileServer

PASSWORD = "sim-pw"
PHONE = "+15551234567"


@pytest.fixture
def simulator() -> Iterator[RunningSimulator]:
    running = start(SimConfig(port=0, password=PASSWORD, send_delay_ms=10, deliver_after_ms=None,
                              read_after_ms=None, log_requests=False))
    yield running
    running.stop()


def sent(running: RunningSimulator) -> list[dict[str, Any]]:
    return requests.get(f"{running.url}/sim/v1/sent", timeout=5).json()["data"]


@pytest.mark.parametrize(("key", "name", "expected_name", "mime", "voice"), [
    ("caf", "Voice memo", "Voice memo.caf", "audio/x-caf", True),
    ("png", None, "sample.png", "image/png", False),
    ("mp4", "promo.mov", "promo.mp4", "video/mp4", False),
])
def test_fetched_attachment_is_sent_as_multipart(fileserver: FileServer, simulator: RunningSimulator, key: str,
                                                 name: str | None, expected_name: str, mime: str,
                                                 voice: bool) -> None:
    content = samples.ACCEPTED[key][0]()
    fetched = attachment_fetch(url=fileserver.add("/files/sample", content), name=name,
                               line_id="a" * 24, workspace_id="b" * 24)
    client = BlueBubblesClient(base_url=simulator.url, password=PASSWORD)
    message = client.send_attachment(address=PHONE, attachment=fetched.to_relay(), temp_guid=f"temp-{key}")
    assert message.guid
    [row] = sent(simulator)
    assert row["address"] == PHONE and row["error"] == 0
    assert row["attachments"] == [{"name": expected_name, "mimeType": mime, "size": len(content)}]
    stored = client.get_message(guid=message.guid)
    assert stored is not None and stored.raw["isAudioMessage"] is voice
