"""Message exports: CSV or NDJSON, streamed in keyset batches so memory stays flat whatever the row count.

The rows are read `BATCH_SIZE` at a time, newest first, each batch one short query
`WHERE <filters> AND id < <last id of the previous batch> ORDER BY id DESC LIMIT n` (the msg_ws_newest /
msg_ws_status indexes serve it). No server-side cursor and no transaction spans the stream: behind
pgbouncer in transaction mode a named cursor would not survive between statements, and a long
transaction would hold back vacuum for as long as the download takes.

Each row is built from the message document (the API's own fields, campaignId and stepIndex included) plus
the export's extras, so a field the document gains appears in the export without an edit here.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from django.db.models import QuerySet

from leads.models import Lead
from messaging.documents import message_document
from messaging.models import Direction, Message
from messaging.personalize import render_message
from tuco.timefmt import iso

BATCH_SIZE = 1000

CSV = "csv"
NDJSON = "ndjson"
FORMATS = (CSV, NDJSON)
CONTENT_TYPES = {CSV: "text/csv; charset=utf-8", NDJSON: "application/x-ndjson; charset=utf-8"}
# Accept values that ask for NDJSON (no `format` query parameter given).
NDJSON_MEDIA_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl", "application/jsonlines")


def _sent_text(m: Message, doc: dict[str, Any]) -> str | None:
    if m.direction != Direction.OUTBOUND:
        return None
    return m.rendered_body or None


# The export's own columns, for fields the message document does not carry (or not in this form).
EXTRAS: dict[str, Callable[[Message, dict[str, Any]], Any]] = {
    "sentText": _sent_text,
    "fallbackSentAt": lambda m, doc: iso(m.fallback_sent_at),
    "fallbackDeliveredAt": lambda m, doc: iso(m.fallback_delivered_at),
}

# Column order of the CSV (and key order of each NDJSON line). The message document fills a column when it
# has a field of that name; otherwise EXTRAS does.
COLUMNS = (
    "_id", "createdAt", "updatedAt", "direction", "messageType", "status", "queuedReason", "nextAttemptAt",
    "campaignId", "stepIndex", "batchId", "correlationId",
    "fromLineId", "fromLinePhone", "fromLineEmail", "recipientPhone", "recipientEmail", "recipientName",
    "sendToAddress", "leadId", "threadId", "replyToMessageId",
    "subject", "message", "sentText", "attachmentUrls",
    "attemptCount", "sentAt", "deliveredAt", "readAt", "externalMessageId", "errorCode", "error",
    "reason", "fallbackSmsStatus", "fallbackProvider", "fallbackExternalId", "fallbackSentAt",
    "fallbackDeliveredAt", "fallbackError",
)


def export_record(m: Message) -> dict[str, Any]:
    """One message as an export row: JSON types (NDJSON writes it as is; CSV flattens it)."""
    doc = message_document(m)
    record: dict[str, Any] = {}
    for column in COLUMNS:
        if column in doc:
            record[column] = doc[column]
        elif column in EXTRAS:
            record[column] = EXTRAS[column](m, doc)
        else:
            record[column] = None
    if _needs_render(m):
        # Sent before the rendered text was recorded: as it renders from the lead now.
        record["sentText"] = render_message(m)
    return record


def _needs_render(m: Message) -> bool:
    return m.direction == Direction.OUTBOUND and not m.rendered_body and bool(m.body) and m.sent_at is not None


def _with_leads(rows: list[Message]) -> list[Message]:
    """Load, in one query per batch, the leads of the rows whose sentText renders from the lead (older sends)."""
    wanted = {m.lead_id for m in rows if m.lead_id and _needs_render(m)}
    if wanted:
        leads = Lead.objects.in_bulk(wanted)
        for m in rows:
            if m.lead_id in leads:
                m.lead = leads[m.lead_id]
    return rows


def keyset_batches(queryset: QuerySet[Message], *, batch_size: int | None = None) -> Iterator[list[Message]]:
    """The queryset's rows, newest id first, `batch_size` (default BATCH_SIZE) per query; never more than one
    batch in memory."""
    batch_size = batch_size or BATCH_SIZE
    base = queryset.order_by("-pk")
    last: str | None = None
    while True:
        page = base if last is None else base.filter(pk__lt=last)
        rows = list(page[:batch_size])
        if not rows:
            return
        yield rows
        if len(rows) < batch_size:
            return
        last = rows[-1].pk


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection): inbound replies and
# names are untrusted text. Phone numbers (+1 202…) and negative numbers stay as they are.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMERIC = re.compile(r"[+-]?[\d\s().-]*")


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        value = " ".join(str(v) for v in value)
    text = str(value)
    if text.startswith(_FORMULA_START) and not _NUMERIC.fullmatch(text):
        return "'" + text
    return text


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate(0)
    return text


def csv_stream(queryset: QuerySet[Message], *, batch_size: int | None = None) -> Iterator[str]:
    """The header line, then one chunk per batch."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    yield _drain(buffer)
    for rows in keyset_batches(queryset, batch_size=batch_size):
        for m in _with_leads(rows):
            record = export_record(m)
            writer.writerow([_csv_cell(record[c]) for c in COLUMNS])
        yield _drain(buffer)


def ndjson_stream(queryset: QuerySet[Message], *, batch_size: int | None = None) -> Iterator[str]:
    for rows in keyset_batches(queryset, batch_size=batch_size):
        yield "".join(json.dumps(export_record(m), ensure_ascii=False, separators=(",", ":")) + "\n"
                      for m in _with_leads(rows))


def export_stream(queryset: QuerySet[Message], fmt: str, *, batch_size: int | None = None) -> Iterator[str]:
    return (ndjson_stream if fmt == NDJSON else csv_stream)(queryset, batch_size=batch_size)


def export_format(requested: str | None, accept: str) -> str | None:
    """csv or ndjson: the `format` query parameter when given (None if it names neither), else the Accept
    header (NDJSON media types), else CSV."""
    if requested:
        value = requested.strip().lower()
        return value if value in FORMATS else None
    accept = (accept or "").lower()
    return NDJSON if any(media in accept for media in NDJSON_MEDIA_TYPES) else CSV
