"""The export runs in constant memory: 30,000 messages streamed through GET /api/messages/export with the peak of
Python allocations (tracemalloc) measured. The bound is one that loading rows at once breaks: the control reads
10,000 of them in one batch and goes over it. (A 100,000-row run peaked at 9.2 MB, docs/reporting.md; 30,000 keep
the suite's time down and still stream thirty batches.)"""

from __future__ import annotations

import time
import tracemalloc
from typing import Any

import pytest
from django.db import connection

from messaging import exports
from messaging.models import Message
from tests.factories import LeadFactory, LineFactory, MessageFactory

pytestmark = pytest.mark.django_db

ROWS = 30_000
PEAK_BOUND = 24 * 1024 * 1024  # bytes of Python allocations at the peak of the whole download


def _clone(template: Message, count: int) -> None:
    """`count` copies of `template` in one INSERT … SELECT (ids keep the template's time prefix, so they sort)."""
    columns = [f.column for f in Message._meta.concrete_fields]
    select = ", ".join("substr(m.id, 1, 8) || lpad(to_hex(g), 16, '0')" if c == "id" else f'm."{c}"'
                       for c in columns)
    table = Message._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f'INSERT INTO "{table}" ({", ".join(f"{chr(34)}{c}{chr(34)}" for c in columns)}) '
                       f'SELECT {select} FROM "{table}" m, generate_series(1, %s) g WHERE m.id = %s',
                       [count, template.pk])


def _peak_of_download(response: Any) -> tuple[int, int, bytes]:
    """(peak bytes while the body streams, lines, last line)."""
    lines, tail = 0, b""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        for chunk in response.streaming_content:
            lines += chunk.count(b"\n")
            tail = chunk or tail
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, lines, tail.rstrip(b"\n").rsplit(b"\n", 1)[-1]


def test_30k_rows_stream_in_constant_memory(api, workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    line = LineFactory(workspace=workspace, phone="+14155550100")
    lead = LeadFactory(workspace=workspace, first_name="Ada")
    template = MessageFactory(workspace=workspace, line=line, lead=lead, status="delivered",
                              body="Hi {{firstName}}, a message of ordinary length for an export row " * 3,
                              rendered_body="Hi Ada, a message of ordinary length for an export row " * 3,
                              recipient_name="Ada Lovelace", batch_id="batch-2026-12", attempt_count=1,
                              attachment_urls=["https://cdn.example.com/a/brochure.pdf"])
    _clone(template, ROWS - 1)
    assert Message.objects.filter(workspace=workspace).count() == ROWS
    lowest = Message.objects.filter(workspace=workspace).order_by("pk").values_list("pk", flat=True).first()

    started = time.monotonic()
    peak, lines, last = _peak_of_download(api.get("/api/messages/export"))
    print(f"\nexport of {ROWS} rows: peak {peak / 1e6:.1f} MB of Python allocations, "
          f"{time.monotonic() - started:.1f} s under tracemalloc")
    assert lines == ROWS + 1  # header + every row
    assert last.startswith(lowest.encode() + b",")  # newest first: the oldest row comes last
    assert peak < PEAK_BOUND

    # The control: the same download with a tenth of the rows read in one batch breaks the bound.
    monkeypatch.setattr(exports, "BATCH_SIZE", 10_000)
    newest = Message.objects.filter(workspace=workspace).order_by("-pk").values("pk")[:10_000]
    Message.objects.filter(pk__in=newest).update(batch_id="control")
    peak_at_once, lines, _ = _peak_of_download(api.get("/api/messages/export", {"batchId": "control"}))
    print(f"control, 10000 rows read at once: peak {peak_at_once / 1e6:.1f} MB")
    assert lines == 10_001
    assert peak_at_once > PEAK_BOUND
