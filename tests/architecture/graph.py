"""The project's import graph and its `Message` write sites, read from the source with `ast`.

Used by the guard-rail tests (tests/architecture/test_layers.py) and by the report
(`python -m tests.architecture.report`) that docs/architecture.md quotes. Nothing
is imported: the files are parsed, so the graph includes imports inside functions
and leaves out `if TYPE_CHECKING:` blocks (they never run).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Top-level packages that are the product (tests, bench and migrations are not).
PACKAGES = ("tuco", "webhooks", "leads", "lines", "fallback", "messaging", "campaigns", "devtools")


@dataclass(frozen=True)
class Import:
    source: str  # importing module
    target: str  # imported project module
    line: int
    in_function: bool


@dataclass
class Module:
    name: str
    path: Path
    lines: int
    imports: list[Import] = field(default_factory=list)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_files() -> Iterator[Path]:
    for package in PACKAGES:
        base = ROOT / package
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*.py")):
            if "migrations" in path.parts or "__pycache__" in path.parts:
                continue
            yield path


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _walk_imports(tree: ast.AST) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement with whether it sits inside a function body."""

    def visit(node: ast.AST, in_function: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    yield from visit(other, in_function)
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                yield child, in_function
            nested = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            yield from visit(child, nested)

    yield from visit(tree, False)


def _resolve(name: str, known: set[str]) -> str | None:
    """The project module an import names (the longest known prefix), or None for third-party code."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in known:
            return candidate
        parts.pop()
    return None


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def load() -> dict[str, Module]:
    files = {module_name(p): p for p in project_files()}
    known = set(files)
    modules: dict[str, Module] = {}
    for name, path in files.items():
        source = path.read_text()
        tree = ast.parse(source)
        module = Module(name=name, path=path, lines=source.count("\n"))
        for node, in_function in _walk_imports(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = _absolute(name, path.name == "__init__.py", node)
                # `from a import b` imports the submodule a.b when there is one, else names from a.
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                           for alias in node.names]
            for target in targets:
                resolved = _resolve(target, known)
                if resolved and resolved != name:
                    module.imports.append(Import(name, resolved, node.lineno, in_function))
        modules[name] = module
    return modules


def strongly_connected(modules: dict[str, Module], *, with_functions: bool = True) -> list[list[str]]:
    """Import cycles: the strongly connected components with more than one module (Tarjan)."""
    edges = {name: sorted({i.target for i in m.imports if with_functions or not i.in_function})
             for name, m in modules.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def connect(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for target in edges.get(node, ()):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    import sys

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in sorted(edges):
        if node not in index:
            connect(node)
    return sorted(found, key=len, reverse=True)


@dataclass(frozen=True)
class WriteSite:
    module: str
    line: int
    code: str


def _source_of(node: ast.AST, source: str) -> str:
    return ast.get_source_segment(source, node) or ""


def _receiver_is_message_queryset(node: ast.AST, source: str) -> bool:
    text = _source_of(node, source)
    return "Message.objects" in text and "MessageEvent.objects" not in text


def message_write_sites(modules: dict[str, Module], columns: Iterable[str] | None = None) -> list[WriteSite]:
    """Calls that change `Message` rows: `Message.objects….update(…)`, `<message>.save(…)` and raw
    `UPDATE` statements on the message table. With `columns`, only writes that name one of them."""
    wanted = set(columns) if columns is not None else None
    sites: list[WriteSite] = []
    for module in modules.values():
        source = module.path.read_text()
        tree = ast.parse(source)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            method = node.func.attr
            receiver = node.func.value
            named = {kw.arg for kw in node.keywords if kw.arg}
            if method in ("update", "bulk_update") and _receiver_is_message_queryset(receiver, source):
                if wanted is None or named & wanted or any(kw.arg is None for kw in node.keywords):
                    sites.append(WriteSite(module.name, node.lineno, _source_of(node, source)[:160]))
            elif method == "save" and isinstance(receiver, ast.Name) and receiver.id == "message" and not any(
                    kw.arg == "force_insert" for kw in node.keywords):  # an INSERT is a creation, not a write
                sites.append(WriteSite(module.name, node.lineno, _source_of(node, source)[:160]))
            elif method == "execute" and node.args:
                text = _source_of(node.args[0], source)
                if "UPDATE" in text and ("_TABLE" in text or "{table}" in text) \
                        and "Message._meta.db_table" in source:
                    sites.append(WriteSite(module.name, node.lineno, text[:160]))
    return sorted(sites, key=lambda s: (s.module, s.line))
