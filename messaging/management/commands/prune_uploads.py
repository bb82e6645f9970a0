from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from messaging.attachments.upload_retention import uploads_prune
from tuco.management.jsoncommand import JsonCommand


class Command(JsonCommand):
    help = ("Delete uploads older than TUCO_UPLOAD_RETENTION_DAYS that no waiting message names (beat runs this "
            "hourly): expired ones go to uploads/.trash first and are deleted by a run at least 10 minutes later.")

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--retention-days", type=float, default=None, help="Override the retention for this run.")

    def handle(self, *args: Any, **options: Any) -> None:
        result = uploads_prune(retention_days=options["retention_days"])
        self.emit(options, result.as_json(),
                  f"Pruned uploads: {result.expired} expired (moved to the trash), {result.kept_in_use} kept for "
                  f"waiting messages, {result.deleted} deleted ({result.freed_bytes} bytes freed), "
                  f"{result.restored} restored")
