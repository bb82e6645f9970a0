from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from tuco.management.jsoncommand import JsonCommand, workspace_or_error
from tuco.services import api_key_create


class Command(JsonCommand):
    help = "Create an API key for a workspace. The key is printed once and stored only as a hash."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--workspace", required=True)
        parser.add_argument("--name", default="default")

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = workspace_or_error(options["workspace"])
        api_key, raw = api_key_create(workspace=workspace, name=options["name"])
        self.emit(options, {"id": api_key.pk, "key": raw, "workspaceId": workspace.pk, "name": api_key.name},
                  f"API key {api_key.name} ({api_key.pk}): {raw}\nStore it now: it is not shown again.")
