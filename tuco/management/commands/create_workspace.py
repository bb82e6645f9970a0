from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from tuco.management.jsoncommand import JsonCommand
from tuco.services import workspace_create


class Command(JsonCommand):
    help = "Create a workspace."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("name")
        parser.add_argument("--billing-status", default="active", choices=["active", "past_due"])

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            workspace = workspace_create(name=options["name"], billing_status=options["billing_status"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.emit(options, {"id": workspace.pk, "name": workspace.name, "billingStatus": workspace.billing_status},
                  f"Created workspace {workspace.name} ({workspace.pk})")
