"""What the benchmarks share: a throw-away database and Redis, processes in their own groups, the
operator commands, machine facts, and the result table.

Everything is started from the operator contract (env vars + `manage.py` commands), like the
end-to-end harness (tests/e2e/harness.py), whose small helpers are reused. Logs of the processes a
benchmark starts go to var/bench/<benchmark>/.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import psycopg

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.e2e.harness import (  # noqa: E402
    _create_database,
    _port_open,
    _redis_server,
    free_port,
    wait_until,
)
from tests.e2e.harness import drop_database as drop_database  # noqa: E402 - re-exported for the benchmarks

PYTHON = sys.executable
BIN = Path(sys.executable).parent
LOGS = ROOT / "var" / "bench"


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- engines ---------------------------------------------------------------------------------------
def base_database_url() -> str:
    """The PostgreSQL server to create benchmark databases on (BENCH_DATABASE_URL, then DATABASE_URL)."""
    for name in ("BENCH_DATABASE_URL", "DATABASE_URL"):
        value = os.environ.get(name, "")
        if value.startswith(("postgres://", "postgresql://")):
            return value
    return "postgres://postgres@127.0.0.1:5432/postgres"


def _libpq(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


def create_database(name: str) -> str:
    """A fresh, empty database (dropped first if a killed run left it behind); returns its URL."""
    return _create_database(base_database_url(), name)


def connect(url: str, **kwargs: Any) -> psycopg.Connection[Any]:
    return psycopg.connect(_libpq(url), **kwargs)


# --- processes -------------------------------------------------------------------------------------
class Proc:
    """One process in its own process group (so its children die with it), logging to var/bench/."""

    def __init__(self, name: str, args: Sequence[str], env: dict[str, str], *, log_dir: Path) -> None:
        self.name, self.args, self.env, self.log_path = name, list(args), env, log_dir / f"{name}.log"
        self.popen: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    def start(self) -> Proc:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the process
        self._log.write(f"\n===== start {time.strftime('%H:%M:%S')} {' '.join(self.args)}\n".encode())
        self._log.flush()
        self.popen = subprocess.Popen(self.args, cwd=ROOT, env=self.env, stdout=self._log,
                                      stderr=subprocess.STDOUT, start_new_session=True)
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self, timeout: float = 15, sig: int = signal.SIGTERM) -> None:
        if self.popen is not None and self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, sig)
                self.popen.wait(timeout)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)
        if self._log is not None:
            self._log.close()
            self._log = None


def start_redis(log_dir: Path) -> tuple[Proc, str]:
    """A private redis-server on a free port (no persistence); returns it and its URL."""
    port = free_port()
    proc = Proc("redis", [_redis_server(), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                          "--appendonly", "no"], dict(os.environ), log_dir=log_dir).start()
    wait_until(lambda: _port_open(port), timeout=10, what="redis up")
    return proc, f"redis://127.0.0.1:{port}/0"


# Benchmark-only (public) key: production settings refuse to start without one.
BENCH_ENCRYPTION_KEY = "hc4ctHRH8LpHdCPPe3Jb6TJcNObvBbcznPpGlclgpKc="


def bench_env(database_url: str, redis_url: str, *, public_url: str = "http://127.0.0.1:8000",
              **overrides: str) -> dict[str, str]:
    """The operator contract for a benchmark stack: production settings except raw-throughput switches."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TUCO_", "UNIBOX_", "SYNC_FALLBACK_", "CELERY_")) and k != "DJANGO_SETTINGS_MODULE"}
    env.update({
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "DEBUG": "false",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-only-secret-key-" + "x" * 40,
        "TUCO_PUBLIC_URL": public_url,
        "TUCO_ALLOW_PRIVATE_URLS": "true",  # the relay simulator and webhooks live on 127.0.0.1
        "TUCO_ENCRYPTION_KEYS": BENCH_ENCRYPTION_KEY,
        "TUCO_RATE_LIMITS_ENABLED": "false",
        "TUCO_LOG_LEVEL": "WARNING",
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONUNBUFFERED": "1",
    })
    env.update(overrides)
    return env


def manage(env: dict[str, str], *args: str) -> dict[str, Any]:
    """Run an ops command with --json; return its JSON object."""
    result = subprocess.run([PYTHON, "manage.py", *args, "--json"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    if result.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def migrate(env: dict[str, str]) -> None:
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True,
                   timeout=300)


# --- facts and figures -----------------------------------------------------------------------------
def machine_info() -> dict[str, Any]:
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal:"))
    with connect(base_database_url()) as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
    redis = subprocess.run([_redis_server(), "--version"], capture_output=True, text=True).stdout.split()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "cpus": os.cpu_count(),
        "ramGiB": round(mem_kb / 1024**2, 1),
        "python": platform.python_version(),
        "postgres": pg,
        "redis": next((w.split("=", 1)[1] for w in redis if w.startswith("v=")), "?"),
        "loadAvgAtStart": [round(x, 2) for x in os.getloadavg()],
        "commit": commit.stdout.strip() or "?",
    }


def percentile(values: Sequence[float], p: float) -> float:
    """Linear interpolation between closest ranks (p in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "" if value is None else str(value)


def print_table(rows: Sequence[dict[str, Any]], *, out: TextIO = sys.stdout, title: str = "") -> None:
    if not rows:
        return
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    if title:
        print(title, file=out)
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for row in cells:
        print("  ".join(v.rjust(w) if v[:1].isdigit() or v[:1] in "-." else v.ljust(w)
                        for v, w in zip(row, widths, strict=True)), file=out)


def print_machine(info: dict[str, Any], out: TextIO = sys.stdout) -> None:
    print(f"machine: {info['cpus']} cores, {info['ramGiB']} GiB RAM; Python {info['python']}, PostgreSQL "
          f"{info['postgres']}, Redis {info['redis']}; load at start {info['loadAvgAtStart']}; "
          f"commit {info['commit']}; {info['date']}", file=out)


def emit(result: dict[str, Any], *, as_json: bool, human: Callable[[dict[str, Any]], None]) -> None:
    if as_json:
        print(json.dumps(result, indent=2, default=str))
    else:
        human(result)


# --- CPU accounting (who used the 2 cores) -----------------------------------------------------------
_TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu_seconds(pid: int) -> float | None:
    """User + system CPU of one process (not its children), or None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _TICK


def descendants(pid: int) -> list[int]:
    """pid and every process below it (from /proc's parent links)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += parents.get(current, [])
    return found


def postgres_backends(database_url: str) -> list[int]:
    with connect(database_url) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                            "AND pid <> pg_backend_pid()").fetchall()
    return [row[0] for row in rows]


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, all cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    total = sum(values[:8])
    return total - values[3] - values[4], total


class CpuMeter:
    """CPU seconds used by named groups of processes between start() and stop(), and the machine's load.

    A process seen only at stop() counts whole (it started during the window); one that exited in
    between is missed, so groups should be long-lived processes (servers, pooled DB backends).
    """

    def __init__(self, groups: Callable[[], dict[str, list[int]]]) -> None:
        self.groups = groups
        self.before: dict[str, dict[int, float]] = {}
        self.ticks = (0, 0)
        self.started = 0.0

    def _sample(self) -> dict[str, dict[int, float]]:
        sample: dict[str, dict[int, float]] = {}
        for name, pids in self.groups().items():
            sample[name] = {pid: cpu for pid in pids if (cpu := proc_cpu_seconds(pid)) is not None}
        return sample

    def start(self) -> None:
        self.before, self.ticks, self.started = self._sample(), machine_ticks(), time.monotonic()

    def stop(self) -> dict[str, Any]:
        after, ticks, elapsed = self._sample(), machine_ticks(), time.monotonic() - self.started
        used = {name: sum(cpu - self.before.get(name, {}).get(pid, 0.0) for pid, cpu in pids.items())
                for name, pids in after.items()}
        busy, total = ticks[0] - self.ticks[0], ticks[1] - self.ticks[1]
        return {"seconds": used, "elapsed": elapsed, "machineBusySeconds": busy / _TICK,
                "machineBusyPct": 100 * busy / total if total else 0.0}


# --- profiles (py-spy, optional) -----------------------------------------------------------------------
def start_profiler(name: str, pid: int, log_dir: Path, *, rate: int = 50) -> Proc | None:
    """py-spy record of pid and its children into log_dir/<name>.raw (collapsed stacks); None without py-spy."""
    binary = BIN / "py-spy"
    if not binary.exists():
        progress("py-spy is not installed in the venv (.venv/bin/pip install py-spy): no profile")
        return None
    return Proc(f"py-spy-{name}", [str(binary), "record", "--pid", str(pid), "--subprocesses", "--rate", str(rate),
                                   "--format", "raw", "--nonblocking", "-o", str(log_dir / f"{name}.raw")],
                dict(os.environ), log_dir=log_dir).start()


def stop_profiler(proc: Proc | None) -> None:
    if proc is not None:
        proc.stop(sig=signal.SIGINT)  # py-spy writes its file on SIGINT


def summarize_profile(raw: Path, *, top: int = 30, prefixes: Sequence[str] = ("tuco/", "messaging/", "lines/",
                                                                             "leads/", "fallback/")) -> str:
    """Inclusive share of samples per function of the app (collapsed-stack input), biggest first."""
    counts: dict[str, int] = {}
    leaves: dict[str, int] = {}
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        total += int(n)
        seen: set[str] = set()
        frames = [m.groups() for f in stack.split(";") if (m := re.match(r"(.+?) \((.+?):\d+\)$", f))]
        for function, path in frames:
            key = f"{function} ({path})"
            if path.startswith(tuple(prefixes)) and key not in seen:
                seen.add(key)
                counts[key] = counts.get(key, 0) + int(n)
        if frames:
            leaf = f"{frames[-1][0]} ({frames[-1][1]})"
            leaves[leaf] = leaves.get(leaf, 0) + int(n)
    lines = [f"{raw.name}: {total} samples (non-idle); inclusive share of app functions:"]
    lines += [f"  {100 * n / max(total, 1):5.1f}%  {k}" for k, n in sorted(counts.items(), key=lambda kv: -kv[1])[:top]]
    lines.append("self time, top frames:")
    lines += [f"  {100 * n / max(total, 1):5.1f}%  {k}" for k, n in sorted(leaves.items(), key=lambda kv: -kv[1])[:12]]
    return "\n".join(lines)


def cleanup_on_sigterm() -> None:
    """SIGTERM (e.g. `timeout`, CI) unwinds like Ctrl-C, so every process and database is cleaned up."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def fresh_log_dir(path: Path) -> Path:
    """An empty var/bench/<benchmark>/ for this run's process logs (the previous run's are dropped)."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path
