"""Waiting explanations for operators: relative and local time in the admin and the Unibox; the API keeps ISO."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django.utils.html import escape

from messaging.documents import message_document
from messaging.explain import explanation_display, explanation_for
from messaging.models import Message, Status
from tests.admin.conftest import logged_in, send, set_status
from tuco.timefmt import duration_text, relative_local

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 7, 8, 1, 51, 655_000, tzinfo=UTC)
TURN = datetime(2026, 12, 7, 8, 2, 29, 655_000, tzinfo=UTC)  # 38 s later


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0 s"), (38, "38 s"), (38.4, "38 s"), (60, "1 min"), (252, "4 min 12 s"), (3600, "1 h"),
    (7500, "2 h 5 min"), (7512, "2 h 5 min"), (86_400, "1 d"), (3 * 86_400 + 4 * 3600 + 59, "3 d 4 h"),
])
def test_duration_text(seconds: float, text: str) -> None:
    assert duration_text(seconds) == text


def test_relative_local_names_the_day_when_it_is_not_today_and_uses_the_given_zone() -> None:
    assert relative_local(TURN, now=NOW, tz=UTC) == "in 38 s, 08:02:29 UTC"
    assert relative_local(NOW, now=TURN, tz=UTC) == "38 s ago, 08:01:51 UTC"
    tomorrow = TURN + timedelta(days=1, hours=2)
    assert relative_local(tomorrow, now=NOW, tz=UTC) == "in 1 d 2 h, Dec 8 10:02:29 UTC"
    assert relative_local(TURN, now=NOW, tz=ZoneInfo("America/New_York")) == "in 38 s, 03:02:29 EST"


def _waiting(workspace, **fields) -> Message:
    message = send(workspace, recipientPhone="+12025550111", message="hello there")
    return set_status(message, Status.QUEUED, **fields)


def test_display_form_is_relative_and_local_while_the_api_keeps_iso(world_a) -> None:
    message = _waiting(world_a.workspace, queued_reason="device_gap", next_attempt_at=TURN)

    api = explanation_for(message)
    assert api == "The device is pacing its sends (minimum gap between sends); this message's turn is at " \
                  "2026-12-07T08:02:29.655Z."
    shown = explanation_display(message, now=NOW, tz=UTC)
    assert shown == "The device is pacing its sends (minimum gap between sends); this message's turn is " \
                    "in 38 s, 08:02:29 UTC."
    # A moment already past is "now", with when it was due.
    late = explanation_display(message, now=TURN + timedelta(seconds=5), tz=UTC)
    assert late.endswith("turn is now (due 5 s ago, 08:02:29 UTC).")
    # The API document is unchanged: ISO in statusExplanation and nextAttemptAt.
    document = message_document(message)
    assert document["statusExplanation"] == api and document["nextAttemptAt"] == "2026-12-07T08:02:29.655Z"


@pytest.mark.parametrize("reason", ["scheduled", "time_window", "day_not_allowed", "line_daily_total",
                                    "line_daily_new", "line_first_touch_hour", "device_gap", "contact_gap",
                                    "line_unhealthy", "line_inactive", "no_line", "availability_budget",
                                    "retry_wait", "line_busy", "some_future_reason"])
def test_every_reason_reads_without_an_iso_instant(world_a, reason: str) -> None:
    message = _waiting(world_a.workspace, queued_reason=reason, next_attempt_at=TURN)
    shown = explanation_display(message, now=NOW, tz=UTC)
    assert "in 38 s, 08:02:29 UTC" in shown
    assert "2026-12-07T" not in shown and " at in " not in shown


def test_admin_message_page_and_unibox_show_the_display_form(bob, world_a) -> None:
    message = _waiting(world_a.workspace, queued_reason="device_gap", next_attempt_at=TURN)
    client = logged_in(bob)
    with time_machine.travel(NOW, tick=False):
        admin_html = client.get(reverse("admin:messaging_message_change", args=[message.pk])).content.decode()
        unibox_html = client.get(reverse("admin:unibox_thread", args=[message.thread_id])).content.decode()
    wanted = escape("this message's turn is in 38 s, 08:02:29 UTC.")
    assert wanted in admin_html and wanted in unibox_html
    for html in (admin_html, unibox_html):
        assert not re.search(r"turn is at 2026-12-07T08:02:29", html)
