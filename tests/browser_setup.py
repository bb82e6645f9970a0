"""Install the Debian packages some tests drive when the machine lacks them: chromium for the Playwright tests
(never `playwright install`), pgbouncer for tests/deployment/test_pgbouncer.py."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

CHROMIUM = "/usr/bin/chromium"
PACKAGES = {CHROMIUM: "chromium", "/usr/sbin/pgbouncer": "pgbouncer"}  # binary -> Debian package


def main() -> int:
    missing = [package for binary, package in PACKAGES.items() if not os.path.exists(binary)]
    if not missing:
        return 0
    if shutil.which("apt-get") is None:
        print(f"{', '.join(missing)} missing and apt-get is unavailable: install Debian's packages", file=sys.stderr)
        return 1
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=False, env=env)
    return subprocess.run(["apt-get", "install", "-y", "-q", *missing], env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
