"""CSV upload and `manage.py import_leads`: header aliases, encoding and delimiter sniffing, row reports."""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from leads.importing import check_list_exists, resolve_list
from leads.lead_fields import (
    BATCH_SIZE,
    EMAIL_FIELDS,
    MAX_CSV_COLUMNS,
    MAX_CUSTOM_KEY,
    PHONE_FIELDS,
    build_row,
    clean_text,
)
from leads.models import LeadList
from leads.saving import LeadSaver, Outcome
from tuco.errors import BadRequest
from tuco.logging import get_logger
from tuco.models import Workspace

log = get_logger(__name__)


HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "firstName": ("firstname", "first", "fname", "givenname", "forename"),
    "lastName": ("lastname", "last", "lname", "surname", "familyname"),
    "name": ("name", "fullname", "contactname", "leadname"),
    "email": ("email", "emailaddress", "primaryemail", "mail", "email1", "emailaddress1", "workemail"),
    "phone": ("phone", "phonenumber", "primaryphone", "mobile", "mobilephone", "mobilenumber", "cell",
              "cellphone", "telephone", "tel", "phone1", "phonenumber1", "primaryphonenumber"),
    "altPhone1": ("altphone1", "altphone", "alternatephone", "alternatephone1", "alternativephone",
                  "additionalphone", "additionalphone1", "secondaryphone", "phone2", "otherphone"),
    "altPhone2": ("altphone2", "alternatephone2", "additionalphone2", "phone3"),
    "altPhone3": ("altphone3", "alternatephone3", "additionalphone3", "phone4"),
    "altEmail1": ("altemail1", "altemail", "alternateemail", "alternateemail1", "alternativeemail",
                  "additionalemail", "additionalemail1", "secondaryemail", "email2", "otheremail"),
    "altEmail2": ("altemail2", "alternateemail2", "additionalemail2", "email3"),
    "altEmail3": ("altemail3", "alternateemail3", "additionalemail3", "email4"),
    "companyName": ("company", "companyname", "organization", "organisation", "business", "businessname",
                    "account", "accountname", "employer"),
    "jobTitle": ("jobtitle", "title", "position", "role", "positionrole", "designation", "occupation"),
    "notes": ("notes", "note", "comments", "comment", "description"),
    "ghlContactId": ("ghlcontactid", "highlevelcontactid", "gohighlevelcontactid"),
    "ghlLocationId": ("ghllocationid", "highlevellocationid", "gohighlevellocationid"),
    "hsPortalId": ("hsportalid", "hubspotportalid"),
    "hsContactId": ("hscontactid", "hubspotcontactid", "hubspotid"),
    "tags": ("tags", "tag", "labels", "label"),
}
_ALIAS_TO_FIELD = {alias: name for name, aliases in HEADER_ALIASES.items() for alias in aliases}


def header_field(header: str) -> str | None:
    """'First Name', 'first_name', 'firstName', 'FIRSTNAME' → 'firstName'; None → a custom field."""
    return _ALIAS_TO_FIELD.get(re.sub(r"[^a-z0-9]", "", header.lower()))


@dataclass
class ImportResult:
    lead_list: LeadList | None
    total: int = 0
    saved: int = 0
    duplicates: int = 0
    invalid: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    errors_truncated: bool = False

    def record_error(self, row: int, error: str, max_errors: int | None) -> None:
        self.invalid += 1
        if max_errors is None or len(self.errors) < max_errors:
            self.errors.append({"row": row, "error": error})
        else:
            self.errors_truncated = True


def _sniff_encoding(binary: IO[bytes]) -> str:
    """UTF-8 (BOM or not), UTF-16 with a BOM (Excel's "Unicode text"), else Windows-1252 (Excel's CSV)."""
    binary.seek(0)
    head = binary.read(4)
    binary.seek(0)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while chunk := binary.read(1 << 16):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "cp1252"
    finally:
        binary.seek(0)
    return "utf-8-sig"


def _delimiter(header_line: str) -> str:
    unquoted = re.sub(r'"[^"]*"', "", header_line)
    counts = {d: unquoted.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


class _CsvFile:
    """Iterates a CSV upload as (spreadsheet row number, {header: value}) without loading it."""

    def __init__(self, binary: IO[bytes]) -> None:
        self.binary = binary
        self.encoding = _sniff_encoding(binary)
        self.headers: list[str] = []
        self.mapping: list[str | None] = []  # per column: lead field, None = custom field, "" = ignored

    def records(self) -> Iterator[tuple[int, dict[str, Any]]]:
        self.binary.seek(0)
        text = io.TextIOWrapper(self.binary, encoding=self.encoding, errors="replace", newline="")
        try:
            first = text.readline()
            while first and not first.strip():
                first = text.readline()
            if not first:
                raise BadRequest("CSV file is empty", code="INVALID_CSV")
            reader = csv.reader(itertools.chain([first], text), delimiter=_delimiter(first))
            row_number = 1
            try:
                self._read_header(next(reader))
                for values in reader:
                    row_number += 1
                    if not any(v.strip() for v in values):
                        continue
                    yield row_number, self._fields(values)
            except csv.Error as exc:
                raise BadRequest(f"Could not parse CSV at row {row_number + 1}: {exc}", code="INVALID_CSV")
        finally:
            text.detach()  # leave the caller's file open for the second pass

    def _read_header(self, header: list[str]) -> None:
        if len(header) > MAX_CSV_COLUMNS:
            raise BadRequest(f"CSV has {len(header)} columns; at most {MAX_CSV_COLUMNS} are supported",
                             code="INVALID_CSV")
        self.headers = [clean_text(h).strip() for h in header]
        taken: set[str] = set()
        self.mapping = []
        for h in self.headers:
            name = header_field(h) if h else ""
            if name and name in taken:
                name = None  # a second "Phone" column keeps its data as a custom field
            if name:
                taken.add(name)
            self.mapping.append(name)
        contact = {"phone", "email", *PHONE_FIELDS, *EMAIL_FIELDS}
        if not taken & contact:
            raise BadRequest("CSV needs a phone or email column (e.g. 'Phone', 'Email')", code="INVALID_CSV")

    def _fields(self, values: list[str]) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        custom: dict[str, str] = {}
        for column, raw in enumerate(values[: len(self.headers)]):
            value = clean_text(raw).strip()
            name = self.mapping[column]
            if not value or name == "":
                continue
            if name is None:
                custom[self.headers[column][:MAX_CUSTOM_KEY]] = value
            else:
                fields[name] = value
        full_name = fields.pop("name", "")
        if full_name and not fields.get("firstName") and not fields.get("lastName"):
            first, _, last = full_name.partition(" ")
            fields["firstName"], fields["lastName"] = first, last.strip()
        if custom:
            fields["customFields"] = custom
        return fields


def csv_import(*, workspace: Workspace, file: IO[bytes], list_id: str = "", list_name: str = "",
               region: str = "US", source: str = "csv", max_errors: int | None = 1000,
               on_progress: Callable[[int, int], None] | None = None) -> ImportResult:
    """Import a CSV (binary, seekable, ≤ 10 MB checked by the caller) into one list.

    Pass 1 only parses (fast): a file that is unreadable or has no rows is refused whole before anything is
    written. Pass 2 validates each row and saves in batches; the target list is created only when the first
    valid row is about to be saved, so a file without a single valid row writes nothing (BadRequest).
    `on_progress(done, total)` is called every BATCH_SIZE rows and at the end.
    """
    csv_file = _CsvFile(file)
    total = sum(1 for _ in csv_file.records())
    if total == 0:
        raise BadRequest("CSV file has a header but no rows", code="INVALID_CSV")
    check_list_exists(workspace=workspace, list_id=list_id)
    result = ImportResult(lead_list=None, total=total)

    def count(outcome: Outcome) -> None:
        if outcome.created:
            result.saved += 1
        else:
            result.duplicates += 1

    saver: LeadSaver | None = None
    for processed, (row_number, fields) in enumerate(csv_file.records(), start=1):
        built = build_row(fields, region)
        if isinstance(built, str):
            result.record_error(row_number, built, max_errors)
        else:
            if saver is None:
                result.lead_list = resolve_list(workspace=workspace, list_id=list_id, list_name=list_name)
                saver = LeadSaver(workspace=workspace, lead_list=result.lead_list, source=source, on_outcome=count)
            built.input = {}  # an import reports counts, not echoes
            saver.add(row_number, built)
        if on_progress and processed % BATCH_SIZE == 0:
            on_progress(processed, total)
    if saver is None:
        raise BadRequest(f"No valid leads in the file: all {total} rows were invalid", code="INVALID_LEADS",
                         invalidCount=result.invalid, errors=result.errors)
    saver.flush()
    if on_progress:
        on_progress(total, total)
    log.info("leads.imported", listId=saver.lead_list.pk, rows=total, saved=result.saved,
             duplicates=result.duplicates, invalid=result.invalid, encoding=csv_file.encoding)
    return result
