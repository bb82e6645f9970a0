"""`python -m tests.architecture.report`: the figures docs/architecture.md quotes (static; no database).

Send-path size, import cycles (imports inside functions included), imports inside functions, and the
places outside the state module that write `Message` rows.
"""

from __future__ import annotations

import sys

from tests.architecture.graph import load, message_write_sites, strongly_connected

# The send path: everything between "a committed row" and "sent / failed / fallback".
SEND_PATH_BEFORE = (
    "messaging.sending", "messaging.claim", "messaging.gates", "messaging.queueing", "messaging.relay_send",
    "messaging.availability_step", "messaging.channels", "messaging.verification", "messaging.outcomes",
    "messaging.fallback_hook", "messaging.lifecycle", "messaging.dispatch", "messaging.tasks", "messaging.sweeps",
    "messaging.stuck", "messaging.sync_fallback", "messaging.receipts", "fallback.services", "fallback.sms",
    "lines.email_channel",
)
SEND_PATH_PACKAGE = "messaging.send"  # the package and everything under it (not messaging.send_input)
STATE_MODULES = ("messaging.lifecycle", "messaging.send.state")


def main() -> int:
    modules = load()
    send = [m for m in modules.values() if m.name in SEND_PATH_BEFORE or m.name == SEND_PATH_PACKAGE
            or m.name.startswith(SEND_PATH_PACKAGE + ".")]
    print(f"project modules: {len(modules)}, {sum(m.lines for m in modules.values())} lines")
    print(f"send path: {len(send)} modules, {sum(m.lines for m in send)} lines, largest "
          f"{max((m.lines for m in send), default=0)}")
    for module in sorted(send, key=lambda m: m.name):
        print(f"  {module.lines:5d}  {module.name}")
    cycles = strongly_connected(modules)
    print(f"import cycles (imports in functions included): {len(cycles)}, sizes {[len(c) for c in cycles]}")
    for cycle in cycles:
        print("  " + ", ".join(cycle))
    print(f"import cycles (module level only): {len(strongly_connected(modules, with_functions=False))}")
    inside = [i for m in modules.values() for i in m.imports if i.in_function]
    print(f"project imports inside functions: {len(inside)}")
    writes = [w for w in message_write_sites(modules) if w.module not in STATE_MODULES]
    print(f"Message write sites outside the state module: {len(writes)} in {len({w.module for w in writes})} files")
    for site in writes:
        print(f"  {site.module}:{site.line}  {' '.join(site.code.split())[:100]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
