"""Guard rails of docs/architecture.md: every arrow points one way, and one module writes messages.

Read from the source (tests/architecture/graph.py), imports inside functions included, so a cycle
cannot hide in a function body.
"""

from __future__ import annotations

from tests.architecture.graph import load, message_write_sites, strongly_connected
from tests.architecture.layers import rank_of

STATE_MODULE = "messaging.send.state"


def test_every_product_module_has_a_layer() -> None:
    unplaced = []
    for name in load():
        try:
            rank_of(name)
        except LookupError as missing:
            unplaced.append(str(missing))
    assert unplaced == []


def test_no_module_imports_a_higher_layer() -> None:
    upward = []
    for module in load().values():
        rank, label = rank_of(module.name)
        for imported in module.imports:
            target_rank, target_label = rank_of(imported.target)
            if target_rank > rank:
                upward.append(f"{module.name}:{imported.line} ({label}) imports {imported.target} ({target_label})")
    assert upward == []


def test_there_is_no_import_cycle_even_through_imports_inside_functions() -> None:
    assert strongly_connected(load(), with_functions=True) == []


def test_nothing_but_the_state_module_writes_messages() -> None:
    writes = [f"{w.module}:{w.line} {w.code}" for w in message_write_sites(load()) if w.module != STATE_MODULE]
    assert writes == []


def test_the_guards_see_what_they_guard() -> None:
    """The checks above are only as good as the graph: it must find the imports and writes we know exist."""
    modules = load()
    claim = modules["messaging.send.claim"]
    assert {"messaging.send.state", "messaging.send.pacing", "lines.capacity"} <= {i.target for i in claim.imports}
    assert any(w.module == STATE_MODULE for w in message_write_sites(modules))
    assert rank_of("messaging.send.state")[0] < rank_of("messaging.send.channels.imessage")[0] \
        < rank_of("messaging.send.outcomes")[0] < rank_of("messaging.send.dispatcher")[0]
