"""POST /api/messages throughput: gunicorn (2 workers) on PostgreSQL + Redis, driven by wrk, against the floor.

    .venv/bin/python bench/api_throughput.py [--rounds 3] [--worker-class sync|gthread|both] [--duration 10]
                                            [--log-level INFO] [--json]

The floor (bench/floor/: a bare DRF endpoint doing only the irreducible work — key lookup by SHA-256
digest, serializer validation, one INSERT, one Redis LPUSH, no middleware) is measured in the same run,
interleaved with the product (floor, product, floor, product, …, floor), on the same database, Redis,
gunicorn settings and load; each product run is divided by the mean of the two floor runs around it
(issue 18: target ratio ≥ 0.6, p99 ≤ 2× the floor's). `--rounds 0` measures the product alone.

A fresh database (tuco_bench_api) and a private redis-server; one workspace, API key and line made
with the ops commands. wrk runs 8 connections for 10 s with a Lua script that makes every body
distinct (recipient and text), so each request creates a new message (new lead, thread, dedup row)
(without wrk on PATH, or with --client python: bench/loadgen.py, an asyncio client in its own process
that makes the same bodies)
and enqueues its dispatch task; no worker runs, the queue is checked and dropped afterwards. The
gunicorn worker class is sync (the Procfile's); `--rounds 0 --worker-class both` compares sync with
gthread (--threads threads per worker) for the product alone.

SQL per new message is measured separately, in-process: Django's test client posts a few messages
against the same database under CaptureQueriesContext. PostgreSQL's own counters (pg_stat_database:
commits and tuples written per request) over the wrk run are printed as a cross-check.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import (
    BIN,
    LOGS,
    CpuMeter,
    Proc,
    bench_env,
    cleanup_on_sigterm,
    connect,
    create_database,
    descendants,
    drop_database,
    emit,
    free_port,
    fresh_log_dir,
    machine_info,
    manage,
    migrate,
    postgres_backends,
    print_machine,
    print_table,
    progress,
    start_profiler,
    start_redis,
    stop_profiler,
    summarize_profile,
    wait_until,
)
from bench.recipients import AREA_CODES

LOG_DIR = LOGS / "api"
DB_NAME = "tuco_bench_api"
# NANP 555 numbers: valid E.164 for phonenumbers, never real subscribers. 12 area codes × 10,000.
RANGE_PER_RUN = 30_000  # each wrk invocation gets its own recipients (a run never reuses a lead/thread)
CONTROL_STATEMENTS = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
# Where a web process's time goes: Django, DRF, psycopg, structlog and the app (py-spy paths are relative).
PROFILE_PREFIXES = ("tuco/", "messaging/", "lines/", "leads/", "fallback/", "django/", "rest_framework/",
                    "psycopg/", "structlog/", "redis/", "kombu/", "celery/", "gunicorn/")
TARGETS = {"reqPerSec": 300, "p99Ms": 50, "queriesPerMessage": 10}

LUA = r"""
-- Every request: a new recipient and a new text (the duplicate guard must not collapse them).
local threads = {}
local areas = {%(areas)s}
local nthreads = %(nthreads)d
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(key)s"

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  n = 0
  statuses = {}
end

function request()
  local i = %(offset)d + n * nthreads + tid
  n = n + 1
  local area = areas[(math.floor(i / 10000) %% #areas) + 1]
  local phone = string.format("+1%%s555%%04d", area, i %% 10000)
  local body = string.format('{"message":"Hi there, bench %(nonce)s message %%d","recipientPhone":"%%s"}', i, phone)
  return wrk.format(nil, "/api/messages", nil, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for code, count in pairs(thread:get("statuses")) do
      total[code] = (total[code] or 0) + count
    end
  end
  local parts = {}
  for code, count in pairs(total) do
    table.insert(parts, string.format('"%%d": %%d', code, count))
  end
  io.write("STATUSES {" .. table.concat(parts, ", ") .. "}\n")
end
"""


def lua_script(*, key: str, offset: int, nthreads: int, path: Path) -> Path:
    areas = ", ".join(f'"{a}"' for a in AREA_CODES)
    path.write_text(LUA % {"areas": areas, "nthreads": nthreads, "key": key, "offset": offset,
                           "nonce": uuid.uuid4().hex[:8]})
    return path


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def parse_wrk(output: str) -> dict[str, Any]:
    latency = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)\s*$", output, re.M))
    total = re.search(r"(\d+) requests in ([\d.]+)(\w+)", output)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    statuses = re.search(r"^STATUSES (\{.*\})$", output, re.M)
    return {
        "reqPerSec": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        "p50Ms": _ms(latency["50"]),
        "p99Ms": _ms(latency["99"]),
        "requests": int(total.group(1)) if total else 0,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socketErrors": sum(map(int, sockets.groups())) if sockets else 0,
        "statuses": json.loads(statuses.group(1)) if statuses else {},
    }


def run_loadgen(url: str, *, key: str, offset: int, connections: int, seconds: float) -> dict[str, Any]:
    """The Python client (bench/loadgen.py) in its own process: the same bodies and figures as wrk."""
    args = [sys.executable, str(Path(__file__).with_name("loadgen.py")), "--url", url, "--key", key,
            "--connections", str(connections), "--duration", f"{seconds:g}", "--offset", str(offset),
            "--nonce", uuid.uuid4().hex[:8]]
    result = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60)
    if result.returncode:
        raise RuntimeError(f"loadgen failed: {result.stderr}")
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    figures["statuses"] = {int(k): v for k, v in figures["statuses"].items()}
    return figures


def run_load(url: str, *, client: str, key: str, offset: int, connections: int, threads: int, seconds: float,
             script: Path) -> dict[str, Any]:
    if client == "wrk":
        return run_wrk(url, lua_script(key=key, offset=offset, nthreads=threads, path=script),
                       connections=connections, threads=threads, seconds=seconds)
    return run_loadgen(url, key=key, offset=offset, connections=connections, seconds=seconds)


def run_wrk(url: str, script: Path, *, connections: int, threads: int, seconds: float) -> dict[str, Any]:
    args = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds:g}s", "--latency", "--timeout", "5s",
            "-s", str(script), f"{url}/api/messages"]
    result = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60)
    if result.returncode:
        raise RuntimeError(f"wrk failed: {result.stderr}")
    (LOG_DIR / f"{script.stem}.out").write_text(result.stdout)
    return parse_wrk(result.stdout)


def pg_counters(database_url: str) -> dict[str, int]:
    with connect(database_url) as conn:
        row = conn.execute("SELECT xact_commit, tup_inserted, tup_updated, tup_deleted FROM pg_stat_database "
                           "WHERE datname = current_database()").fetchone()
    assert row is not None
    return dict(zip(("commits", "inserted", "updated", "deleted"), row, strict=True))


def redis_calls(client: Any) -> int:
    return sum(v["calls"] for k, v in client.info("commandstats").items() if k != "cmdstat_info")


def count_queries(env: dict[str, str], key: str, samples: int, redis_client: Any) -> dict[str, Any]:
    """SQL statements (and Redis commands) for one new message, through the real view stack in-process."""
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "tuco.settings"
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    counts: list[int] = []
    redis_counts: list[int] = []
    example: list[str] = []
    for i in range(samples + 1):  # the first request warms per-process caches and is not counted
        body = {"message": f"Query count sample {uuid.uuid4().hex[:8]} {i}", "recipientPhone": f"+1917555{i:04d}"}
        before = redis_calls(redis_client)
        with CaptureQueriesContext(connection) as captured:
            response = client.post("/api/messages", data=body, content_type="application/json")
        if response.status_code != 201:
            raise RuntimeError(f"in-process POST answered {response.status_code}: {response.content[:500]!r}")
        if i:
            counts.append(len(captured.captured_queries))
            redis_counts.append(redis_calls(redis_client) - before)  # INFO itself is not counted
            example = [q["sql"] for q in captured.captured_queries]
    control = sum(1 for sql in example if sql.split(None, 1)[0].upper() in CONTROL_STATEMENTS)
    return {"queriesPerMessage": statistics.median(counts), "samples": counts, "controlStatements": control,
            "redisCommandsPerMessage": statistics.median(redis_counts), "exampleQueries": example}


def summarize_sql(sql: str) -> str:
    """'INSERT messaging_message', 'SELECT tuco_apikey', … for a one-line breakdown."""
    verb = sql.split(None, 1)[0].upper()
    table = re.search(r'(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', sql, re.I)
    return f"{verb} {table.group(1)}" if table and verb not in CONTROL_STATEMENTS else verb


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


APPS = {"product": ("tuco.wsgi", "sends", {}),
        "floor": ("bench.floor.wsgi", "floor", {"DJANGO_SETTINGS_MODULE": "bench.floor.settings"})}


def bench_worker_class(worker_class: str, *, args: argparse.Namespace, env: dict[str, str], key: str,
                       run_index: int, database_url: str, redis_client: Any, redis_pid: int,
                       app: str = "product") -> dict[str, Any]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    extra = ["--threads", str(args.threads)] if worker_class == "gthread" else []
    wsgi, queue, app_env = APPS[app]
    env = {**env, **app_env}
    name = f"{app}-{worker_class}-{run_index}"
    web = Proc(name, [str(BIN / "gunicorn"), wsgi, "--bind", f"127.0.0.1:{port}",
                                       "--workers", str(args.workers), "--worker-class", worker_class, *extra,
                                       "--access-logfile", "-", "--log-level", "warning"], env, log_dir=LOG_DIR)
    with ExitStack() as stack:
        web.start()
        stack.callback(web.stop)
        wait_until(lambda: requests.get(f"{url}/health/ready", timeout=2).ok, timeout=60, what="web ready")
        progress(f"{name}: warm-up {args.warmup:g}s")
        offset = run_index * 2 * RANGE_PER_RUN
        run_load(url, client=args.client, key=key, offset=offset, connections=args.connections,
                 threads=args.wrk_threads, seconds=args.warmup, script=LOG_DIR / f"warmup-{name}.lua")
        redis_client.flushall()
        time.sleep(1.5)  # idle backends flush their statistics within a second
        before = pg_counters(database_url)
        progress(f"{name}: measuring {args.duration:g}s, {args.connections} connections")
        meter = CpuMeter(lambda: {"web": descendants(web.pid), "postgres": postgres_backends(database_url),
                                  "redis": [redis_pid]})
        profiler = start_profiler(name, web.pid, LOG_DIR) if args.profile and app == "product" else None
        meter.start()
        wrk_cpu = children_cpu_seconds()
        figures = run_load(url, client=args.client, key=key, offset=offset + RANGE_PER_RUN,
                           connections=args.connections, threads=args.wrk_threads, seconds=args.duration,
                           script=LOG_DIR / f"measure-{name}.lua")
        cpu = meter.stop()
        stop_profiler(profiler)
        cpu["seconds"]["client"] = children_cpu_seconds() - wrk_cpu
        enqueued = redis_client.llen(queue)
    if profiler is not None and (LOG_DIR / f"{name}.raw").exists():
        summary = summarize_profile(LOG_DIR / f"{name}.raw", prefixes=PROFILE_PREFIXES)
        (LOG_DIR / f"{name}.txt").write_text(summary + "\n")
        progress(f"profile: {LOG_DIR / f'{name}.txt'}")
    time.sleep(1)  # web stopped: its backends exited and flushed their counters
    after = pg_counters(database_url)
    redis_client.flushall()  # nothing consumes the dispatch tasks in this benchmark
    done = max(figures["requests"], 1)
    ours = sum(cpu["seconds"].values())
    cpu_ms = {f"cpuMs.{k}": round(1000 * v / done, 2) for k, v in cpu["seconds"].items()}
    cpu_ms["cpuMs.other"] = round(1000 * max(cpu["machineBusySeconds"] - ours, 0) / done, 2)
    return {
        "app": app,
        "workerClass": worker_class if worker_class == "sync" else f"gthread x{args.threads}",
        "reqPerSec": figures["reqPerSec"], "p50Ms": figures["p50Ms"], "p99Ms": figures["p99Ms"],
        "requests": figures["requests"], "non2xx": figures["non2xx"], "socketErrors": figures["socketErrors"],
        "statuses": " ".join(f"{k}:{v}" for k, v in sorted(figures["statuses"].items())),
        "enqueued": enqueued,
        "commitsPerReq": round((after["commits"] - before["commits"]) / done, 2),
        "rowsWrittenPerReq": round(sum(after[k] - before[k] for k in ("inserted", "updated", "deleted")) / done, 2),
        "machineBusyPct": round(cpu["machineBusyPct"], 1),
        **cpu_ms,
    }


def floor_ratios(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each product run against the mean of its neighbouring floor runs (the machine drifts between runs)."""
    rows = []
    for i, run in enumerate(runs):
        if run["app"] != "product":
            continue
        floors = [r for r in (runs[i - 1] if i else None, runs[i + 1] if i + 1 < len(runs) else None)
                  if r is not None and r["app"] == "floor"]
        if not floors:
            continue
        floor_rps = statistics.mean(r["reqPerSec"] for r in floors)
        floor_p99 = statistics.mean(r["p99Ms"] for r in floors)
        rows.append({"product": run["reqPerSec"], "floor": round(floor_rps, 1),
                     "ratio": round(run["reqPerSec"] / floor_rps, 3), "productP99": run["p99Ms"],
                     "floorP99": round(floor_p99, 1), "p99Ratio": round(run["p99Ms"] / floor_p99, 2),
                     "non2xx": run["non2xx"] + sum(r["non2xx"] for r in floors)})
    return rows


def human(result: dict[str, Any]) -> None:
    print_machine(result["machine"])
    cfg = result["config"]
    client = "wrk (--latency)" if cfg["client"] == "wrk" else "bench/loadgen.py"
    print(f"POST /api/messages: gunicorn {cfg['workers']} workers, {cfg['connections']} connections "
          f"x {cfg['duration']:g}s from {client}; each body distinct\n")
    columns = ("app", "workerClass", "reqPerSec", "p50Ms", "p99Ms", "requests", "non2xx", "socketErrors", "enqueued")
    print_table([{c: run[c] for c in columns} for run in result["runs"]])
    print("\nper request: SQL commits and rows written (pg_stat_database deltas over the run); CPU ms by process "
          "(/proc; 'other' = the rest of the machine's busy time: other sessions, PostgreSQL background, kernel)")
    print_table([{"app": run["app"], "workerClass": run["workerClass"], "commits": run["commitsPerReq"],
                  "rowsWritten": run["rowsWrittenPerReq"], "machineBusy%": run["machineBusyPct"],
                  **{k.removeprefix("cpuMs."): v for k, v in run.items() if k.startswith("cpuMs.")}}
                 for run in result["runs"]])
    q = result["queries"]
    print(f"\nSQL per new message (in-process, CaptureQueriesContext, {len(q['samples'])} samples): "
          f"{q['queriesPerMessage']:g} statements, of which {q['controlStatements']} transaction control "
          "(BEGIN/COMMIT/SAVEPOINT); "
          f"Redis commands per message: {q['redisCommandsPerMessage']:g}")
    breakdown: dict[str, int] = {}
    for sql in q["exampleQueries"]:
        breakdown[summarize_sql(sql)] = breakdown.get(summarize_sql(sql), 0) + 1
    print("  " + ", ".join(f"{k} x{v}" if v > 1 else k for k, v in breakdown.items()))
    if result["ratios"]:
        print("\nproduct / floor, each product run against the mean of the floor runs before and after it "
              "(targets: ratio >= 0.6, p99 <= 2x the floor's, zero non-2xx):")
        print_table(result["ratios"])
    best = result["best"]
    print(f"\ntargets (best product run, {best['workerClass']}):")
    for name, target in TARGETS.items():
        value = q["queriesPerMessage"] if name == "queriesPerMessage" else best[name]
        ok = value >= target if name == "reqPerSec" else value <= target
        sign = ">=" if name == "reqPerSec" else "<="
        print(f"  {name:18} {value:8.1f}   target {sign} {target:<5} {'met' if ok else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3,
                        help="product runs interleaved with floor runs (F P F … P F); 0: the product alone")
    parser.add_argument("--worker-class", choices=["sync", "gthread", "both"], default="sync")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--query-samples", type=int, default=5)
    parser.add_argument("--keep-db", action="store_true", help="leave the database for inspection")
    parser.add_argument("--client", choices=["wrk", "python"], default=None,
                        help="load generator (default: wrk when it is on PATH, else bench/loadgen.py)")
    parser.add_argument("--log-level", default="INFO",
                        help="TUCO_LOG_LEVEL of the web processes (INFO: the production default)")
    parser.add_argument("--profile", action="store_true",
                        help="py-spy the product's web processes (pip install py-spy): var/bench/api/*.txt")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    args.client = args.client or ("wrk" if shutil.which("wrk") else "python")
    cleanup_on_sigterm()

    import redis

    info = machine_info()
    fresh_log_dir(LOG_DIR)
    progress(f"logs in {LOG_DIR}")
    with ExitStack() as stack:
        database_url = create_database(DB_NAME)
        if not args.keep_db:
            stack.callback(drop_database, database_url)
        redis_proc, redis_url = start_redis(LOG_DIR)
        stack.callback(redis_proc.stop)
        redis_client = redis.Redis.from_url(redis_url)
        env = bench_env(database_url, redis_url, TUCO_LOG_LEVEL=args.log_level)
        progress(f"migrating {DB_NAME}")
        migrate(env)
        workspace = manage(env, "create_workspace", "bench-api")
        key = manage(env, "create_api_key", "--workspace", workspace["id"])["key"]
        # No relay is contacted here: the POST only commits the row and enqueues the dispatch task.
        manage(env, "add_line", "--workspace", workspace["id"], "--phone", "+14155550100", "--relay-url",
               "http://127.0.0.1:9/", "--relay-password", "unused", "--no-register-webhook",
               "--daily-total", "100000", "--daily-new", "100000")
        progress("counting SQL per new message in-process")
        queries = count_queries(env, key, args.query_samples, redis_client)
        redis_client.flushall()
        classes = ["sync", "gthread"] if args.worker_class == "both" else [args.worker_class]
        if args.rounds:
            plan = [("floor", "sync")]
            for _ in range(args.rounds):
                plan += [("product", "sync"), ("floor", "sync")]
        else:
            plan = [("product", c) for c in classes]
        runs = [bench_worker_class(c, args=args, env=env, key=key, run_index=i, database_url=database_url,
                                   redis_client=redis_client, redis_pid=redis_proc.pid, app=app)
                for i, (app, c) in enumerate(plan)]
    ratios = floor_ratios(runs)
    best = max((r for r in runs if r["app"] == "product"), key=lambda r: r["reqPerSec"])
    result = {"benchmark": "api_throughput", "machine": info,
              "config": {"workers": args.workers, "gthreadThreads": args.threads, "connections": args.connections,
                         "duration": args.duration, "wrkThreads": args.wrk_threads,
                         "client": args.client, "logLevel": args.log_level},
              "runs": runs, "ratios": ratios, "best": best, "queries": queries, "targets": TARGETS}
    emit(result, as_json=args.json, human=human)


if __name__ == "__main__":
    main()
