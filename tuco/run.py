"""`make run`: bring up the embedded engines, migrate, create the demo workspace, then run every process.

Idempotent: a second run reuses the data under var/, the demo workspace, its
key (kept in var/demo.json, mode 600) and its line.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from tuco import crypto, embedded

BASE_DIR = Path(__file__).resolve().parent.parent
RELAY_PORT = os.environ.get("RELAY_PORT", "8765")
RELAY_PASSWORD = os.environ.get("RELAY_PASSWORD", "sim-password")


def _manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, check=True,
                            stdout=subprocess.PIPE, text=True)
    return result.stdout


def _local_secret_key() -> str:
    """This checkout's own SECRET_KEY, made once (var/secret_key, mode 600): the settings refuse the
    built-in development key when DEBUG is off."""
    path = embedded.VAR_DIR / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


def main() -> None:
    env = dict(os.environ)
    if not env.get("DATABASE_URL"):
        env.update(embedded.up())
    if not env.get("SECRET_KEY"):
        env["SECRET_KEY"] = _local_secret_key()
    env.setdefault("TUCO_ALLOW_PRIVATE_URLS", "true")  # the relay simulator and demo receivers are on 127.0.0.1
    # The dev key (generated once, kept with the data under var/): a second run reads its secrets back.
    env.setdefault("TUCO_ENCRYPTION_KEYS", crypto.dev_key(BASE_DIR / "var" / "dev-encryption-key"))
    env.setdefault("TUCO_LOG_LEVEL", "INFO")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["RELAY_PORT"], env["RELAY_PASSWORD"] = RELAY_PORT, RELAY_PASSWORD

    _manage(env, "migrate", "--noinput", "-v", "0")
    demo = json.loads(_manage(env, "bootstrap_demo", "--json", "--relay-url", f"http://127.0.0.1:{RELAY_PORT}",
                              "--relay-password", RELAY_PASSWORD))
    public_url = env.get("TUCO_PUBLIC_URL", "http://127.0.0.1:8000")
    print(f"""
Tuco is starting (web {public_url}, relay simulator 127.0.0.1:{RELAY_PORT}).

  Workspace : {demo['workspaceId']}
  API key   : {demo['apiKey']}
  Line      : {demo['lineId']} (device {demo['deviceId']})
  Admin     : {public_url}/admin/  (user {demo['adminUser']}, password {demo['adminPassword']})
  API docs  : {public_url}/api/docs

Try it:

  curl -s -X POST {public_url}/api/messages \\
    -H 'Authorization: Bearer {demo['apiKey']}' -H 'Content-Type: application/json' \\
    -d '{{"message": "Hi {{{{firstName}}}}, this is Tuco", "recipientPhone": "+12025551234", \
          "recipientName": "Ada Lovelace"}}'

  curl -s {public_url}/api/messages -H 'Authorization: Bearer {demo['apiKey']}'

Ctrl-C stops web, worker, beat and relay (`make stop` also stops the embedded PostgreSQL/Redis).
""", flush=True)
    os.execvpe("honcho", ["honcho", "start", "-f", str(BASE_DIR / "Procfile"), "-d", str(BASE_DIR)], env)


if __name__ == "__main__":
    main()
