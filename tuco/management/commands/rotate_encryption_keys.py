from __future__ import annotations

from typing import Any

from tuco.management.jsoncommand import JsonCommand
from tuco.secret_columns import encryption_keys_rotate


class Command(JsonCommand):
    help = ("Re-encrypt every stored secret with the first key of TUCO_ENCRYPTION_KEYS (the others only decrypt). "
            "Safe while Tuco runs and to repeat; see docs/encryption.md for the rotation steps.")

    def handle(self, *args: Any, **options: Any) -> None:
        columns = encryption_keys_rotate()
        rotated = sum(c.rotated for c in columns)
        current = sum(c.current + c.changed_meanwhile for c in columns)
        self.emit(options, {"rotated": rotated, "current": current, "columns": [c.as_json() for c in columns]},
                  f"Re-encrypted {rotated} secrets with the primary key; {current} already used it "
                  f"({len(columns)} columns).")
