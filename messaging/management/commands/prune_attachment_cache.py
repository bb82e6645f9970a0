from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from messaging.attachments.cache import cache_prune
from tuco.management.jsoncommand import JsonCommand


class Command(JsonCommand):
    help = ("Prune the per-line attachment cache: expired entries (TUCO_ATTACHMENT_CACHE_MAX_AGE_SECONDS), "
            "then least recently used ones until it fits TUCO_ATTACHMENT_CACHE_MAX_BYTES.")

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--max-bytes", type=int, default=None, help="Override the size limit for this run.")
        parser.add_argument("--max-age-seconds", type=float, default=None,
                            help="Override the age limit for this run.")

    def handle(self, *args: Any, **options: Any) -> None:
        result = cache_prune(limit_bytes=options["max_bytes"], limit_age_seconds=options["max_age_seconds"])
        self.emit(options, result.as_json(),
                  f"Pruned attachment cache: {result.expired_entries} expired, {result.evicted_entries} evicted, "
                  f"{result.removed_blobs} files removed ({result.freed_bytes} bytes freed); "
                  f"{result.entries} entries, {result.bytes} bytes left")
