"""Base for ops commands: `--json` prints exactly one JSON object on stdout."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class JsonCommand(BaseCommand):
    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print one JSON object on stdout.")

    def emit(self, options: dict[str, Any], data: dict[str, Any], human: str) -> None:
        if options.get("json"):
            self.stdout.write(json.dumps(data, ensure_ascii=False))
        else:
            self.stdout.write(human)


def workspace_or_error(workspace_id: str) -> Any:
    from tuco.models import Workspace

    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        raise CommandError(f"workspace {workspace_id!r} not found")
    return workspace
