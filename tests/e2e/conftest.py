from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.e2e.harness import Stack, drop_database, start_stack


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """One real stack per test session (start-up costs ~15 s); tests isolate by workspace and recipient."""
    running = start_stack(os.environ["DATABASE_URL"])
    try:
        yield running
    finally:
        running.stop_all()
        drop_database(running.database_url)
