"""`make stop` (python -m tuco.embedded down) finds pgserver's bundled pg_ctl."""

from __future__ import annotations

import os
import subprocess

from tuco import embedded


def test_the_bundled_pg_ctl_is_found_and_runs() -> None:
    pg_ctl = embedded.pg_ctl_path()
    assert pg_ctl.is_file() and os.access(pg_ctl, os.X_OK)
    result = subprocess.run([str(pg_ctl), "--version"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and "pg_ctl (PostgreSQL)" in result.stdout
