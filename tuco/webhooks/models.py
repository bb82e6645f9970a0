"""Outgoing webhook rows (endpoints, outbox events, delivery attempts). Imported by tuco.models."""

from __future__ import annotations
