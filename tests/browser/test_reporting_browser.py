"""The reporting dashboard in a real browser: an operator opens it from the header, the SVG charts render, and
every bar's number matches the database for seeded data; the line filter narrows the charts.

Playwright (sync API) drives Debian's chromium against pytest-django's live server; screenshots go to
test-artifacts/ (the first is also docs/reporting.png when missing or TUCO_UPDATE_DOCS_SCREENSHOT is set).
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from typing import Any

import pytest

from tests.admin.conftest import operator_group
from tests.admin.reporting_seed import FIRST, LAST, ReportWorld, counts_in_db, queue_in_db, seed_report_world
from tests.browser.support import PASSWORD, ROOT, shot_of
from tuco.models import WorkspaceMember

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

METRICS = ("sent", "delivered", "read", "failed", "fallback", "replies", "opt_outs", "availability")


@pytest.fixture
def world() -> ReportWorld:
    from django.contrib.auth import get_user_model

    rw = seed_report_world()
    user = get_user_model().objects.create_user(username="operator", password=PASSWORD, is_staff=True)
    user.groups.add(operator_group())
    WorkspaceMember.objects.create(workspace=rw.a, user=user)
    return rw


def _bars(page: Any, metric: str) -> Counter[tuple[str, str]]:
    """(line id, day) → value, read from the rendered SVG's bars."""
    values = page.eval_on_selector_all(
        f"#chart-{metric} rect.bar",
        "els => els.map(e => [e.dataset.series, e.dataset.category, Number(e.dataset.value),"
        " e.getBoundingClientRect().height])")
    assert all(height > 0 for *_, height in values), f"{metric}: a bar is not drawn"
    return Counter({(series, day): value for series, day, value, _ in values})


def _as_text(counts: Counter[tuple[str, Any]]) -> Counter[tuple[str, str]]:
    return Counter({(key, day.isoformat()): n for (key, day), n in counts.items() if n})


def test_charts_render_and_match_the_database(live_server: Any, page: Any, world: ReportWorld) -> None:
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")

    page.click("#user-tools a:has-text('Reporting')")
    page.wait_for_selector("#reporting")
    page.fill("#id_date_from", FIRST.isoformat())
    page.fill("#id_date_to", LAST.isoformat())
    with page.expect_navigation():
        page.click("#report-show")
    page.wait_for_selector(f"#reporting[data-first='{FIRST.isoformat()}']")

    expected = counts_in_db([world.a.pk], FIRST, LAST)
    assert sum(expected["sent"].values()) == 5  # the seed is what the test thinks it is
    for metric in METRICS:
        svg = page.locator(f"#chart-{metric}")
        assert svg.is_visible() and svg.bounding_box()["height"] > 50, metric
        assert _bars(page, metric) == _as_text(expected[metric]), metric
        total = page.locator(f".kpi[data-metric='{metric}']").get_attribute("data-total")
        assert int(total) == sum(expected[metric].values()), metric
    queue = page.eval_on_selector_all("#chart-queue rect.bar",
                                      "els => els.map(e => [e.dataset.series, e.dataset.category, "
                                      "Number(e.dataset.value)])")
    assert Counter({(s, r): v for s, r, v in queue}) == queue_in_db([world.a.pk])
    # Workspace B is not on the page at all: not as a choice, a legend entry or a number.
    assert world.other.pk not in page.content() and "Other Co" not in page.content()
    assert page.locator("#report-legend li").count() == 3  # two lines and "No line (SMS)"
    shot = shot_of(page, "reporting.png")
    docs_copy = ROOT / "docs" / "reporting.png"
    if os.environ.get("TUCO_UPDATE_DOCS_SCREENSHOT") or not docs_copy.exists():  # keep `make test` read-only
        shutil.copyfile(shot, docs_copy)

    # One line: every chart narrows to it.
    page.select_option("#id_line", world.utc.pk)
    with page.expect_navigation():
        page.click("#report-show")
    assert f"line={world.utc.pk}" in page.url
    assert page.locator("#report-legend li").count() == 1
    sent = _bars(page, "sent")
    assert sent == Counter({(world.utc.pk, "2026-11-03"): 1, (world.utc.pk, "2026-11-04"): 1})
    assert _bars(page, "availability") == Counter({(world.utc.pk, "2026-11-04"): 2})
    shot_of(page, "reporting-one-line.png")
