"""Dedup under concurrency: the database's unique indexes decide, so racing imports create one lead."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from leads.models import Lead, LeadList
from tests.conftest import client_for
from tests.factories import WorkspaceFactory
from tuco.services import api_key_create

pytestmark = pytest.mark.django_db(transaction=True)


def _race(n: int, work: Callable[[int], Any]) -> list[Any]:
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:  # surfaced by the assertions below
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_ten_requests_creating_the_same_lead_make_one() -> None:
    workspace = WorkspaceFactory()
    _, raw = api_key_create(workspace=workspace)

    def work(i: int) -> tuple[int, dict[str, Any]]:
        response = client_for(raw).post("/api/leads", {"listName": "Race", "leads": [
            {"firstName": f"t{i}", "phone": "+12025550160", "email": "race@example.com"}]}, format="json")
        return response.status_code, response.json()

    results = _race(10, work)
    assert Lead.objects.filter(workspace=workspace).count() == 1
    assert LeadList.objects.filter(workspace=workspace).count() == 1
    lead = Lead.objects.get()
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * 9 + [201], results
    assert {body["leadId"] for _, body in results} == {lead.pk}


def test_overlapping_bulk_imports_in_reverse_order() -> None:
    # Two batches with the same 300 contacts in opposite orders: no deadlock surfaces, no contact twice.
    workspace = WorkspaceFactory()
    _, raw = api_key_create(workspace=workspace)
    contacts = [{"phone": f"+1202555{i:04d}", "email": f"p{i}@example.com"} for i in range(300)]

    def work(i: int) -> int:
        leads = contacts if i % 2 == 0 else list(reversed(contacts))
        return client_for(raw).post("/api/leads", {"leads": leads}, format="json").status_code

    results = _race(4, work)
    assert all(status in (200, 201) for status in results), results
    assert Lead.objects.filter(workspace=workspace).count() == 300


def test_concurrent_csv_imports_of_one_file() -> None:
    from leads.csv_import import csv_import

    workspace = WorkspaceFactory()
    content = ("phone,email\n" + "".join(f"+1202555{i:04d},c{i}@example.com\n" for i in range(50))).encode()

    def work(i: int) -> tuple[int, int]:
        result = csv_import(workspace=workspace, file=io.BytesIO(content), list_name="Race")
        return result.saved, result.duplicates

    results = _race(5, work)
    assert all(isinstance(r, tuple) for r in results), results
    assert sum(saved for saved, _ in results) == 50
    assert all(saved + duplicates == 50 for saved, duplicates in results)
    assert Lead.objects.filter(workspace=workspace).count() == 50
    assert LeadList.objects.filter(workspace=workspace).count() == 1
