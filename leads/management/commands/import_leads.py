from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import CommandError, CommandParser
from tqdm import tqdm

from leads.csv_import import csv_import
from leads.importing import parse_list_ref
from leads.lead_fields import MAX_CSV_BYTES, parse_source, phone_region
from leads.models import QUICK_SENDS_LIST
from tuco.errors import ApiError
from tuco.management.jsoncommand import JsonCommand, workspace_or_error


class Command(JsonCommand):
    help = ("Import leads from a CSV file into a list (the same rules as POST /api/leads/import): "
            "duplicates within the list are skipped, invalid rows are reported by row number.")

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("file", help="Path to the CSV file (at most 10 MB)")
        parser.add_argument("--workspace", required=True, help="Workspace id")
        parser.add_argument("--list", default=QUICK_SENDS_LIST, help="List name; created if missing")
        parser.add_argument("--default-country-code", default="+1", help="For phones without +country code")
        parser.add_argument("--source", default="csv")

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = workspace_or_error(options["workspace"])
        path = options["file"]
        try:
            region = phone_region(options["default_country_code"])
            _, list_name = parse_list_ref(None, options["list"])
            source = parse_source(options["source"], "csv")
            handle = open(path, "rb")  # noqa: SIM115 - closed in the finally below
        except ApiError as exc:
            raise CommandError(exc.error)
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}")
        bar: tqdm | None = None

        def progress(done: int, total: int) -> None:
            nonlocal bar
            if bar is None:
                bar = tqdm(total=total, unit="rows", file=sys.stderr, desc="import")
            bar.update(done - bar.n)

        try:
            handle.seek(0, 2)
            if handle.tell() > MAX_CSV_BYTES:
                raise CommandError("File too large: the maximum is 10 MB")
            result = csv_import(workspace=workspace, file=handle,
                                list_name="" if list_name == QUICK_SENDS_LIST else list_name,
                                region=region, source=source, max_errors=None, on_progress=progress)
        except ApiError as exc:
            if options.get("json"):
                self.emit(options, exc.body(), "")
            raise CommandError(exc.error)
        finally:
            handle.close()
            if bar is not None:
                bar.close()
        assert result.lead_list is not None
        data = {"listId": result.lead_list.pk, "listName": result.lead_list.name, "savedCount": result.saved,
                "duplicateCount": result.duplicates, "invalidCount": result.invalid,
                "totalProcessed": result.total, "errors": result.errors}
        lines = [f"{result.total} rows: {result.saved} saved, {result.duplicates} duplicates, "
                 f"{result.invalid} invalid → list {result.lead_list.name} ({result.lead_list.pk})"]
        lines += [f"row {e['row']}: {e['error']}" for e in result.errors]
        self.emit(options, data, "\n".join(lines))
