"""Personas and a populated pair of workspaces for the admin and Unibox tests.

alice: superuser. bob: staff operator, member of workspace A. carol: staff
operator with the same permissions, member of workspace B only. dave: staff,
member of A, but without any model permission.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.utils import timezone

from messaging.models import Direction, Message, Status, Thread
from messaging.send import state
from messaging.send_input import parse_send_request
from messaging.services.create import SendContext, message_create
from messaging.threads import thread_touch
from tests.factories import DeviceFactory, LeadFactory, LeadListFactory, LineFactory, WorkspaceFactory
from tuco.models import Workspace, WorkspaceMember

OPERATOR_APPS = ("tuco", "webhooks", "leads", "lines", "messaging", "fallback")


def operator_group() -> Group:
    group, _ = Group.objects.get_or_create(name="Operators")
    group.permissions.set(Permission.objects.filter(content_type__app_label__in=OPERATOR_APPS))
    return group


def make_staff(username: str, *, workspaces: list[Workspace], perms: bool = True) -> Any:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(username=username, is_staff=True)
    if perms:
        user.groups.add(operator_group())
    for workspace in workspaces:
        WorkspaceMember.objects.create(workspace=workspace, user=user)
    return user


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def send(workspace: Workspace, **body: Any) -> Message:
    """Create an outbound message through the real service (as the API would)."""
    request = parse_send_request({"message": "hello", **body})
    return message_create(workspace=workspace, request=request,
                          context=SendContext(correlation_id="test")).message


def set_status(message: Message, *path: str, **fields: Any) -> Message:
    """Walk a message through the state machine (pending → sending → sent …)."""
    for status in path:
        extra = {k: v for k, v in fields.items() if status == path[-1]}
        moved = state.transition(message.pk, to=status, fields=extra or None)
        assert moved is not None, f"could not move {message.pk} to {status}"
    return Message.objects.get(pk=message.pk)


def receive(thread: Thread, text: str, **fields: Any) -> Message:
    """An inbound reply on a thread, counted as unread like the inbound handler does."""
    now = timezone.now()
    thread_touch(workspace_id=thread.workspace_id, address=thread.address, lead_id=thread.lead_id,
                 line_id=thread.line_id, preview=text, direction=Direction.INBOUND, at=now, unread_increment=1)
    return Message.objects.create(workspace_id=thread.workspace_id, thread=thread, lead_id=thread.lead_id,
                                  line_id=thread.line_id, direction=Direction.INBOUND, body=text,
                                  status=Status.RECEIVED, send_to_address=thread.address, **fields)


@dataclass
class World:
    workspace: Workspace
    line: Any
    lead: Any
    thread: Thread
    outbound: Message
    inbound: Message


def build_world(name: str, phone: str, *, first_name: str = "Jane", last_name: str = "Doe") -> World:
    workspace = WorkspaceFactory(name=name)
    device = DeviceFactory(workspace=workspace, relay_password=f"relay-pw-{name}-S3CRET")
    line = LineFactory(workspace=workspace, device=device, smtp_password=f"smtp-pw-{name}-S3CRET")
    lead_list = LeadListFactory(workspace=workspace, name=f"Prospects of {name}")
    lead = LeadFactory(workspace=workspace, list=lead_list, first_name=first_name, last_name=last_name, phone=phone,
                       email=f"{first_name.lower()}@{name.lower()}.example")
    outbound = send(workspace, recipientPhone=phone, leadId=lead.pk, message=f"Hi {first_name}, from {name}")
    thread = Thread.objects.get(pk=outbound.thread_id)
    inbound = receive(thread, f"Reply from {first_name}")
    return World(workspace=workspace, line=line, lead=lead, thread=Thread.objects.get(pk=thread.pk),
                 outbound=outbound, inbound=inbound)


@pytest.fixture
def world_a(db: Any) -> World:
    return build_world("Acme", "+12025550111", first_name="Jane", last_name="Doe")


@pytest.fixture
def world_b(db: Any) -> World:
    return build_world("Bravo", "+12025550122", first_name="Bruno", last_name="Mars")


@pytest.fixture
def alice(db: Any) -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_superuser(username="alice", email="alice@example.com", password=None)


@pytest.fixture
def bob(world_a: World) -> Any:
    return make_staff("bob", workspaces=[world_a.workspace])


@pytest.fixture
def carol(world_b: World) -> Any:
    return make_staff("carol", workspaces=[world_b.workspace])


@pytest.fixture
def dave(world_a: World) -> Any:
    return make_staff("dave", workspaces=[world_a.workspace], perms=False)
