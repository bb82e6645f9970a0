"""factory_boy factories for every app's rows."""

from __future__ import annotations

import factory

from leads.models import Lead, LeadList
from lines.models import Device, Line
from messaging.models import Message
from tuco.models import Workspace


class WorkspaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workspace

    name = factory.Sequence(lambda n: f"Workspace {n}")


class DeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Device

    workspace = factory.SubFactory(WorkspaceFactory)
    relay_url = factory.Sequence(lambda n: f"http://relay-{n}.test:8765")
    relay_password = "relay-secret-password"
    device_gap_seconds = 0


class LineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Line

    workspace = factory.SubFactory(WorkspaceFactory)
    device = factory.SubFactory(DeviceFactory, workspace=factory.SelfAttribute("..workspace"))
    phone = factory.Sequence(lambda n: f"+1415555{n % 10000:04d}")
    contact_gap_seconds = 0


class LeadListFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LeadList

    workspace = factory.SubFactory(WorkspaceFactory)
    name = factory.Sequence(lambda n: f"List {n}")


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    workspace = factory.SubFactory(WorkspaceFactory)
    first_name = "Jane"
    last_name = "Doe"
    phone = factory.Sequence(lambda n: f"+1202555{n % 10000:04d}")


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    workspace = factory.SubFactory(WorkspaceFactory)
    body = factory.Sequence(lambda n: f"Hello {n}")
    recipient_phone = "+12025550100"
    send_to_address = "+12025550100"
    status = "pending"
