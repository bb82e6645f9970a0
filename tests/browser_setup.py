"""Install Debian's chromium for the Playwright tests when the machine lacks it (never `playwright install`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

CHROMIUM = "/usr/bin/chromium"


def main() -> int:
    if os.path.exists(CHROMIUM):
        return 0
    if shutil.which("apt-get") is None:
        print("chromium is missing and apt-get is unavailable: install Debian's chromium", file=sys.stderr)
        return 1
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=False, env=env)
    return subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
