"""Follow one send through the code: which project files it enters, and how often it calls back into a
file that is still on its stack (a file it had left to go deeper: `a → b → a`).

A one-way layering has no call-backs: each file calls down, never back up into a caller. Measured by
`sys.setprofile` on real calls, so dynamic dispatch and in-function imports count like any other call.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from tests.architecture.graph import PACKAGES, ROOT


def _project_file(path: str) -> str | None:
    try:
        relative = Path(path).resolve().relative_to(ROOT)
    except ValueError:
        return None
    if not relative.parts or relative.parts[0] not in PACKAGES or "migrations" in relative.parts:
        return None
    return str(relative)


@dataclass
class Walk:
    files: list[str] = field(default_factory=list)  # in the order first entered
    callbacks: list[tuple[str, str]] = field(default_factory=list)  # (from file, back into file)
    reentries: int = 0  # calls into a file entered before, from another file (call-backs included)

    @property
    def callback_count(self) -> int:
        return len(self.callbacks)


@contextmanager
def walk() -> Iterator[Walk]:
    result = Walk()
    stack: list[str | None] = []  # the project file of each live Python frame (None: not ours)
    seen: set[str] = set()

    def profile(frame: FrameType, event: str, _arg: Any) -> None:
        if event == "call":
            # A module body running on first import is not a step of the send.
            code = frame.f_code
            current = None if code.co_name == "<module>" else _project_file(code.co_filename)
            if current is not None:
                ours = [f for f in stack if f is not None]
                if current not in seen:
                    seen.add(current)
                    result.files.append(current)
                elif ours and ours[-1] != current:
                    result.reentries += 1
                if ours and ours[-1] != current and current in ours:
                    result.callbacks.append((ours[-1], current))
            stack.append(current)
        elif event == "return" and stack:
            stack.pop()

    previous: Callable[..., Any] | None = sys.getprofile()
    sys.setprofile(profile)
    try:
        yield result
    finally:
        sys.setprofile(previous)
