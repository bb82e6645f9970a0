"""A real pgbouncer in transaction mode in front of the test PostgreSQL, stricter than production:
`server_reset_query = DISCARD ALL` after *every* transaction, so no session state (a SET, a WITH HOLD cursor,
a prepared statement, a session advisory lock) survives a transaction boundary, as if each transaction ran
on another server connection. Debian's pgbouncer (tests/browser_setup.py installs it when missing)."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PGBOUNCER = "/usr/sbin/pgbouncer"
RUN_AS = "postgres"  # pgbouncer refuses to run as root


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PgBouncer:
    def __init__(self, *, pg_host: str = "127.0.0.1", pg_port: int = 5432, pool_size: int = 2) -> None:
        if not os.path.exists(PGBOUNCER):
            raise RuntimeError(f"{PGBOUNCER} is missing: run `python -m tests.browser_setup` (installs pgbouncer)")
        self.port = _free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
        (self.directory / "userlist.txt").write_text('"postgres" ""\n')
        (self.directory / "pgbouncer.ini").write_text(f"""[databases]
* = host={pg_host} port={pg_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {self.port}
unix_socket_dir =
auth_type = trust
auth_file = {self.directory}/userlist.txt
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 200
server_reset_query = DISCARD ALL
server_reset_query_always = 1
ignore_startup_parameters = extra_float_digits,options
logfile = {self.directory}/pgbouncer.log
pidfile = {self.directory}/pgbouncer.pid
""")
        user = pwd.getpwnam(RUN_AS)
        os.chown(self.directory, user.pw_uid, user.pw_gid)
        for child in self.directory.iterdir():
            os.chown(child, user.pw_uid, user.pw_gid)
        self.process = subprocess.Popen([PGBOUNCER, "-u", RUN_AS, str(self.directory / "pgbouncer.ini")],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"pgbouncer did not start: {self.log()}") from None
                time.sleep(0.1)

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def log(self) -> str:
        path = self.directory / "pgbouncer.log"
        return path.read_text()[-2000:] if path.exists() else ""

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.directory, ignore_errors=True)
