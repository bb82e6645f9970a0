"""Factories for leads-app rows not in tests/factories.py."""

from __future__ import annotations

import factory

from leads.models import DncEntry
from tests.factories import WorkspaceFactory


class DncEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DncEntry

    workspace = factory.SubFactory(WorkspaceFactory)
    address = factory.Sequence(lambda n: f"+1904295{n % 10000:04d}")
    reason = "manual"
