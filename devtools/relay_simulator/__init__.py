"""Relay simulator: a stand-in BlueBubbles server (one Mac relay) for `make run` and end-to-end tests.

Standalone on purpose: stdlib + requests only, no Django, no shared state with the app except HTTP.
See docs/relay-simulator.md.
"""

from __future__ import annotations

from .config import SimConfig
from .server import RunningSimulator, serve, start
from .simulator import Simulator

__all__ = ["RunningSimulator", "SimConfig", "Simulator", "serve", "start"]
