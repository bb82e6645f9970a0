"""Command-line flags, shared by `python -m devtools.relay_simulator` and `manage.py relay_simulator`."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from .config import CHAT_PREFIXES, SimConfig

_DEFAULTS = SimConfig()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=_DEFAULTS.host, help="interface to bind (default %(default)s)")
    parser.add_argument("--port", type=int, default=_DEFAULTS.port, help="0 picks a free port (default %(default)s)")
    parser.add_argument("--password", default=_DEFAULTS.password, help="server password (default %(default)s)")
    parser.add_argument(
        "--send-delay-ms",
        type=int,
        default=_DEFAULTS.send_delay_ms,
        help="how long a send blocks before it answers (default %(default)s)",
    )
    parser.add_argument(
        "--deliver-after-ms",
        type=int,
        default=_DEFAULTS.deliver_after_ms,
        help="delivered this long after a send; negative = never (default %(default)s)",
    )
    parser.add_argument(
        "--read-after-ms",
        type=int,
        default=None,
        help="read this long after delivery; omitted or negative = never",
    )
    parser.add_argument(
        "--private-api",
        action=argparse.BooleanOptionalAction,
        default=_DEFAULTS.private_api,
        help="Private API enabled and helper connected (default on)",
    )
    parser.add_argument(
        "--chat-prefix",
        choices=CHAT_PREFIXES,
        default=_DEFAULTS.chat_prefix,
        help="service prefix of DM chat GUIDs; 'any' behaves like macOS 26 Tahoe (default %(default)s)",
    )
    parser.add_argument(
        "--hang-seconds",
        type=float,
        default=_DEFAULTS.hang_seconds,
        help="how long a `hang` fault holds the request (default %(default)s)",
    )
    parser.add_argument(
        "--webhook-delay-ms",
        type=int,
        default=_DEFAULTS.webhook_delay_ms,
        help="extra latency before each webhook POST (default %(default)s)",
    )
    parser.add_argument(
        "--slow-ms",
        type=int,
        default=_DEFAULTS.slow_ms,
        help="how much later a `slow` fault answers (default %(default)s)",
    )
    parser.add_argument("--quiet", action="store_true", help="no per-request log lines")


def config_from_options(options: Mapping[str, Any]) -> SimConfig:
    return SimConfig(
        host=options["host"],
        port=options["port"],
        password=options["password"],
        send_delay_ms=options["send_delay_ms"],
        deliver_after_ms=options["deliver_after_ms"],
        read_after_ms=options["read_after_ms"],
        private_api=options["private_api"],
        chat_prefix=options["chat_prefix"],
        hang_seconds=options["hang_seconds"],
        webhook_delay_ms=options["webhook_delay_ms"],
        slow_ms=options["slow_ms"],
        log_requests=not options["quiet"],
    )
