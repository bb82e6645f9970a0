from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import CommandParser

from lines.models import Line
from lines.services import LineSpec, line_add
from tuco.management.jsoncommand import JsonCommand
from tuco.models import Workspace, WorkspaceMember
from tuco.services import api_key_authenticate, api_key_create

DEMO_NAME = "Demo"
DEMO_LINE_PHONE = "+14155550100"


class Command(JsonCommand):
    help = "Create (or reuse) the demo workspace, API key, admin user and simulator line for `make run`."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--relay-url", default="http://127.0.0.1:8765")
        parser.add_argument("--relay-password", default="sim-password")
        parser.add_argument("--state-file", default=str(Path(settings.BASE_DIR) / "var" / "demo.json"))

    def handle(self, *args: Any, **options: Any) -> None:
        state_path = Path(options["state_file"])
        state = json.loads(state_path.read_text()) if state_path.exists() else {}
        workspace = Workspace.objects.filter(pk=state.get("workspaceId")).first() \
            or Workspace.objects.create(name=DEMO_NAME)
        api_key = api_key_authenticate(raw_key=state.get("apiKey", ""))
        raw_key = state.get("apiKey") if api_key and api_key.workspace_id == workspace.pk else None
        if raw_key is None:
            _, raw_key = api_key_create(workspace=workspace, name="demo")
        line = Line.objects.filter(workspace=workspace, device__relay_url=options["relay_url"].rstrip("/")).first()
        if line is None:
            line = line_add(workspace=workspace, spec=LineSpec(
                phone=DEMO_LINE_PHONE, relay_url=options["relay_url"], relay_password=options["relay_password"],
                private_api=True, first_name="Demo", last_name="Line"))
        admin_password = state.get("adminPassword") or secrets.token_urlsafe(12)
        user_model = get_user_model()
        admin = user_model.objects.filter(username="admin").first()
        if admin is None:
            admin = user_model.objects.create_superuser("admin", "admin@example.com", admin_password)
        WorkspaceMember.objects.get_or_create(workspace=workspace, user=admin)
        state = {"workspaceId": workspace.pk, "apiKey": raw_key, "lineId": line.pk, "deviceId": line.device_id,
                 "adminUser": "admin", "adminPassword": admin_password}
        state_path.parent.mkdir(parents=True, exist_ok=True)
        state_path.write_text(json.dumps(state, indent=2))
        os.chmod(state_path, 0o600)
        self.emit(options, state, f"Demo workspace {workspace.pk}, key {raw_key}, line {line.pk}")
