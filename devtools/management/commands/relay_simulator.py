"""`manage.py relay_simulator`: serve the BlueBubbles relay simulator until stopped.

Thin on purpose: the simulator shares nothing with the app but HTTP, so this command only parses
flags; it needs no database and skips Django's system checks.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from devtools.relay_simulator import serve
from devtools.relay_simulator.cli import add_arguments, config_from_options


class Command(BaseCommand):
    help = "Serve a simulated BlueBubbles server (REST API + webhooks + /sim/v1 control API)."
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        serve(config_from_options(options))
