from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import CommandParser

from tuco.management.jsoncommand import JsonCommand, workspace_or_error
from tuco.models import WorkspaceMember

OPERATOR_APPS = ("tuco", "webhooks", "leads", "lines", "messaging", "fallback")
GROUP = "Operators"


def operators_group() -> Group:
    """A group holding every permission of Tuco's apps (the admin still scopes rows by membership)."""
    group, _ = Group.objects.get_or_create(name=GROUP)
    group.permissions.set(Permission.objects.filter(content_type__app_label__in=OPERATOR_APPS))
    return group


class Command(JsonCommand):
    help = "Create (or update) a staff user who operates one or more workspaces in the admin / Unibox."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--username", required=True)
        parser.add_argument("--email", default="")
        parser.add_argument("--password", default="", help="Generated (and printed once) when omitted.")
        parser.add_argument("--workspace", action="append", required=True, help="Repeat for several.")

    def handle(self, *args: Any, **options: Any) -> None:
        workspaces = [workspace_or_error(w) for w in options["workspace"]]
        password = options["password"] or secrets.token_urlsafe(12)
        user, created = get_user_model().objects.get_or_create(username=options["username"],
                                                               defaults={"email": options["email"]})
        user.is_staff = True
        if created or options["password"]:
            user.set_password(password)
        user.save()
        user.groups.add(operators_group())
        for workspace in workspaces:
            WorkspaceMember.objects.get_or_create(workspace=workspace, user=user)
        data = {"username": user.username, "created": created, "workspaces": [w.pk for w in workspaces],
                "password": password if (created or options["password"]) else None}
        self.emit(options, data, f"Operator {user.username} on {', '.join(data['workspaces'])}"
                  + (f" (password: {password})" if data["password"] else ""))
