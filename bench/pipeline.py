"""End-to-end send throughput: POST N messages, wait until every one is `sent` through the relay simulator.

    .venv/bin/python bench/pipeline.py [--messages 1000] [--lines 8] [--configs threads:8,prefork:2] [--json]

A real stack, as in production and the end-to-end tests: its own database (tuco_bench_pipeline) and
redis-server, gunicorn (web), celery worker, celery beat and one relay simulator process per line
(one simulator = one device). Lines have no device/contact gap and limits far above N. The messages
are POSTed by --post-clients concurrent clients; the clock runs from the first POST to the last
`sentAt`. Latency is sentAt − createdAt from the API documents.

Each worker configuration in --configs (`pool:concurrency`) gets a fresh worker process and a fresh
batch of N messages on the same stack; the best one is reported as the result. Besides the figures it
prints what explains them: CPU seconds per process, why messages waited, Celery tasks published and
PostgreSQL connections opened (see docs/performance.md).
"""

from __future__ import annotations

import argparse
import resource
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import redis
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import (
    BIN,
    LOGS,
    PYTHON,
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
    percentile,
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
from bench.recipients import bench_phone

LOG_DIR = LOGS / "pipeline"
DB_NAME = "tuco_bench_pipeline"
PASSWORD = "sim-password"
TARGET_PER_SEC = 50


@dataclass
class Stack:
    web_url: str
    env: dict[str, str]
    database_url: str
    redis_url: str
    key: str
    procs: dict[str, Proc]
    sims: list[tuple[Proc, str]]  # (process, base URL)


def start_stack(args: argparse.Namespace, exits: ExitStack) -> Stack:
    database_url = create_database(DB_NAME)
    exits.callback(drop_database, database_url)
    redis_proc, redis_url = start_redis(LOG_DIR)
    exits.callback(redis_proc.stop)
    web_port = free_port()
    web_url = f"http://127.0.0.1:{web_port}"
    env = bench_env(database_url, redis_url, public_url=web_url,
                    TUCO_DEVICE_GAP_SECONDS="0", TUCO_CONTACT_GAP_SECONDS="0",
                    TUCO_SWEEP_INTERVAL_SECONDS=str(args.sweep_interval))
    progress(f"migrating {DB_NAME}")
    migrate(env)

    sims: list[tuple[Proc, str]] = []
    for i in range(args.lines):
        port = free_port()
        sim = Proc(f"relay-{i}", [PYTHON, "-m", "devtools.relay_simulator", "--host", "127.0.0.1", "--port", str(port),
                                  "--password", PASSWORD, "--quiet", "--send-delay-ms", str(args.send_delay_ms),
                                  "--deliver-after-ms", str(args.deliver_after_ms)], env, log_dir=LOG_DIR)
        sims.append((sim.start(), f"http://127.0.0.1:{port}"))
        exits.callback(sim.stop)
    extra = ["--threads", str(args.web_threads)] if args.web_class == "gthread" else []
    web = Proc("web", [str(BIN / "gunicorn"), "tuco.wsgi", "--bind", f"127.0.0.1:{web_port}", "--workers",
                       str(args.web_workers), "--worker-class", args.web_class, *extra, "--access-logfile", "-",
                       "--log-level", "warning"], env, log_dir=LOG_DIR).start()
    exits.callback(web.stop)
    beat = Proc("beat", [str(BIN / "celery"), "-A", "tuco", "beat", "--loglevel", "WARNING"], env,
                log_dir=LOG_DIR).start()
    exits.callback(beat.stop)
    for sim, url in sims:
        wait_until(lambda u=url: requests.get(f"{u}/sim/v1/health", timeout=1).ok, timeout=20,
                   what=f"{sim.name} up")
    wait_until(lambda: requests.get(f"{web_url}/health/ready", timeout=2).ok, timeout=60, what="web ready")

    workspace = manage(env, "create_workspace", "bench-pipeline")
    key = manage(env, "create_api_key", "--workspace", workspace["id"])["key"]
    for i, (sim, url) in enumerate(sims):
        line = manage(env, "add_line", "--workspace", workspace["id"], "--phone", f"+1415555{100 + i:04d}",
                      "--relay-url", url, "--relay-password", PASSWORD,
                      "--device-gap-seconds", "0", "--contact-gap-seconds", "0", "--daily-total", "100000",
                      "--daily-new", "100000", "--hourly-first-touch", "100000")
        if not line.get("webhookRegistered"):
            raise RuntimeError(f"line on {sim.name} did not register its webhook: {line}")
    return Stack(web_url=web_url, env=env, database_url=database_url, redis_url=redis_url, key=key,
                 procs={"web": web, "beat": beat, "redis": redis_proc}, sims=sims)


def start_worker(stack: Stack, pool: str, concurrency: int) -> Proc:
    env = stack.env
    worker = Proc(f"worker-{pool}-{concurrency}", [str(BIN / "celery"), "-A", "tuco", "worker", "--pool", pool,
                                                   "--concurrency", str(concurrency), "--loglevel", "WARNING",
                                                   "--without-gossip", "--without-mingle"],
                  env, log_dir=LOG_DIR).start()
    client = redis.Redis.from_url(stack.redis_url)

    # Logs are at WARNING (no "ready." line): a worker is ready once it blocks on the queue.
    def consuming() -> bool:
        if not worker.alive:
            raise RuntimeError(f"worker exited, see {worker.log_path}")
        return any(c.get("cmd") == "brpop" for c in client.client_list())

    wait_until(consuming, timeout=60, what="worker consuming")
    return worker


def post_all(stack: Stack, *, count: int, clients: int, batch_id: str, offset: int) -> tuple[float, float, Counter]:
    """POST `count` distinct messages with `clients` threads; returns (first POST start, last POST end, statuses)."""
    local = threading.local()
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def post(i: int) -> None:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
            session.headers["Authorization"] = f"Bearer {stack.key}"
        n = offset + i
        phone = bench_phone(n)
        response = session.post(f"{stack.web_url}/api/messages", timeout=30, json={
            "message": f"Pipeline bench {batch_id} message {i}", "recipientPhone": phone, "batchId": batch_id})
        with lock:
            statuses[response.status_code] += 1

    started = time.time()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(post, range(count)))
    return started, time.time(), statuses


# The benchmark's own queries share one connection (db), so they add no connection churn of their own.
def progress_counts(db: psycopg.Connection[Any], batch_id: str) -> dict[str, int]:
    rows = db.execute("SELECT status, count(*) FROM messaging_message WHERE batch_id = %s GROUP BY status",
                      [batch_id]).fetchall()
    return dict(rows)


def fetch_documents(stack: Stack, batch_id: str) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    cursor = ""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {stack.key}"
    while True:
        params = {"batchId": batch_id, "limit": "100", **({"cursor": cursor} if cursor else {})}
        page = session.get(f"{stack.web_url}/api/messages", params=params, timeout=30).json()
        docs += page["messages"]
        if not page.get("hasMore"):
            return docs
        cursor = page["nextCursor"]


def wait_reasons(db: psycopg.Connection[Any], batch_id: str) -> dict[str, int]:
    """Why messages of the batch waited (→ queued events), e.g. line_busy, thread_order."""
    rows = db.execute(
        "SELECT e.reason, count(*) FROM messaging_messageevent e JOIN messaging_message m ON m.id = e.message_id "
        "WHERE m.batch_id = %s AND e.to_status = 'queued' GROUP BY e.reason ORDER BY 2 DESC", [batch_id]
    ).fetchall()
    return dict(rows)


def pg_sessions(db: psycopg.Connection[Any]) -> int:
    """Connections ever opened to the database (pg_stat_database.sessions), to see connection churn."""
    db.execute("SELECT pg_stat_clear_snapshot()")
    row = db.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()").fetchone()
    return int(row[0]) if row else 0


def lpush_calls(broker: Any) -> int:
    """Tasks published so far (kombu's Redis transport publishes with one LPUSH)."""
    return int(broker.info("commandstats").get("cmdstat_lpush", {}).get("calls", 0))


def _ts(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def run_config(stack: Stack, args: argparse.Namespace, pool: str, concurrency: int, index: int) -> dict[str, Any]:
    label = f"{pool}:{concurrency}"
    progress(f"{label}: starting worker")
    worker = start_worker(stack, pool, concurrency)
    db = connect(stack.database_url, autocommit=True)
    broker = redis.Redis.from_url(stack.redis_url)
    profilers: dict[str, Proc | None] = {}
    try:
        batch_id = f"bench-{uuid.uuid4().hex[:10]}"
        meter = CpuMeter(lambda: {
            "web": descendants(stack.procs["web"].pid), "worker": descendants(worker.pid),
            "beat": descendants(stack.procs["beat"].pid), "relays": [sim.pid for sim, _ in stack.sims],
            "postgres": postgres_backends(stack.database_url), "redis": [stack.procs["redis"].pid]})
        if args.profile:
            profilers = {name: start_profiler(f"{pool}-{concurrency}-{name}", proc.pid, LOG_DIR)
                         for name, proc in (("web", stack.procs["web"]), ("worker", worker))}
        meter.start()
        sessions = pg_sessions(db)
        published = lpush_calls(broker)
        peak_queue = 0
        self_cpu = resource.getrusage(resource.RUSAGE_SELF)
        progress(f"{label}: POSTing {args.messages} messages with {args.post_clients} clients")
        first_post, last_post, statuses = post_all(stack, count=args.messages, clients=args.post_clients,
                                                   batch_id=batch_id, offset=index * args.messages)
        progress(f"{label}: POSTs done in {last_post - first_post:.1f}s ({dict(statuses)}); waiting for sends")
        deadline = time.monotonic() + args.timeout
        counts: dict[str, int] = {}
        while time.monotonic() < deadline:
            counts = progress_counts(db, batch_id)
            peak_queue = max(peak_queue, broker.llen("celery"))
            done = counts.get("sent", 0) + counts.get("delivered", 0)
            if done + counts.get("failed", 0) >= args.messages:
                break
            time.sleep(0.25)
        observed_end = time.time()
        cpu = meter.stop()
        sessions = pg_sessions(db) - sessions
        published = lpush_calls(broker) - published
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu["seconds"]["bench"] = (usage.ru_utime + usage.ru_stime) - (self_cpu.ru_utime + self_cpu.ru_stime)
    finally:
        for profiler in profilers.values():
            stop_profiler(profiler)
        worker.stop()
        leftover = broker.llen("celery")
        broker.flushdb()  # duplicate wake-ups left in the queue would otherwise run in the next configuration
    waits = wait_reasons(db, batch_id)
    db.close()
    for name in profilers:
        raw = LOG_DIR / f"{pool}-{concurrency}-{name}.raw"
        if raw.exists():
            summary = LOG_DIR / f"{pool}-{concurrency}-{name}.txt"
            summary.write_text(summarize_profile(raw) + "\n")
            progress(f"{label}: {name} profile summary in {summary}")
    docs = fetch_documents(stack, batch_id)
    sent = [d for d in docs if d.get("sentAt")]
    latencies = [_ts(d["sentAt"]) - _ts(d["createdAt"]) for d in sent]
    last_sent = max((_ts(d["sentAt"]) for d in sent), default=observed_end)
    elapsed = last_sent - first_post
    ours = sum(cpu["seconds"].values())
    return {
        "config": label,
        "messages": args.messages,
        "sent": len(sent),
        "msgPerSec": round(len(sent) / elapsed, 1) if elapsed > 0 else 0.0,
        "elapsedS": round(elapsed, 2),
        "postPhaseS": round(last_post - first_post, 2),
        "latencyP50Ms": round(1000 * percentile(latencies, 50)) if latencies else None,
        "latencyP99Ms": round(1000 * percentile(latencies, 99)) if latencies else None,
        "statuses": " ".join(f"{k}:{v}" for k, v in sorted(Counter(d["status"] for d in docs).items())),
        "postStatuses": " ".join(f"{k}:{v}" for k, v in sorted(statuses.items())),
        "waits": waits,
        "pgConnectionsOpened": sessions,
        "tasksPublished": published,
        "peakQueue": peak_queue,
        "leftInQueue": leftover,
        "machineBusyPct": round(cpu["machineBusyPct"], 1),
        "cpuSeconds": {k: round(v, 2) for k, v in cpu["seconds"].items()}
        | {"other": round(max(cpu["machineBusySeconds"] - ours, 0), 2)},
    }


def human(result: dict[str, Any]) -> None:
    print_machine(result["machine"])
    c = result["setup"]
    print(f"pipeline: {c['messages']} messages, {c['lines']} line(s) on {c['lines']} relay simulator(s) "
          f"(send delay {c['sendDelayMs']} ms, deliver after {c['deliverAfterMs']} ms), web gunicorn "
          f"{c['webWorkers']} {c['webClass']} workers, {c['postClients']} POST clients, sweep every "
          f"{c['sweepInterval']:g}s\n")
    columns = ("config", "msgPerSec", "elapsedS", "postPhaseS", "latencyP50Ms", "latencyP99Ms", "sent", "statuses")
    print_table([{k: run[k] for k in columns} for run in result["runs"]])
    print("\nwhy messages waited (→ queued events) and CPU seconds by process over each run "
          "('other' = rest of the machine):")
    for run in result["runs"]:
        waits = ", ".join(f"{k or '?'} {v}" for k, v in run["waits"].items()) or "none"
        cpu = ", ".join(f"{k} {v:.1f}" for k, v in run["cpuSeconds"].items())
        print(f"  {run['config']:12} waits: {waits}")
        print(f"  {'':12} cpu s: {cpu}; machine busy {run['machineBusyPct']}%")
        print(f"  {'':12} {run['tasksPublished']} Celery tasks published (peak queue {run['peakQueue']}, "
              f"{run['leftInQueue']} still queued when all were sent), "
              f"{run['pgConnectionsOpened']} PostgreSQL connections opened")
    best = result["best"]
    verdict = "met" if best["msgPerSec"] >= TARGET_PER_SEC else "MISSED"
    print(f"\ntarget: >= {TARGET_PER_SEC} messages/s -> best {best['msgPerSec']} ({best['config']}): {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--lines", type=int, default=8, help="lines, one relay simulator (device) each")
    parser.add_argument("--configs", default="threads:8",
                        help="comma-separated worker pool:concurrency pairs, e.g. threads:8,prefork:2")
    parser.add_argument("--post-clients", type=int, default=8)
    parser.add_argument("--send-delay-ms", type=int, default=2)
    parser.add_argument("--deliver-after-ms", type=int, default=50, help="-1 = never delivered (no webhook)")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--web-class", choices=["sync", "gthread"], default="sync")
    parser.add_argument("--web-threads", type=int, default=4)
    parser.add_argument("--sweep-interval", type=float, default=10, help="TUCO_SWEEP_INTERVAL_SECONDS")
    parser.add_argument("--timeout", type=float, default=600, help="give up waiting for sends after this long")
    parser.add_argument("--profile", action="store_true", help="py-spy web and worker (pip install py-spy)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    cleanup_on_sigterm()
    configs = [(pool, int(n)) for pool, n in (c.split(":") for c in args.configs.split(","))]

    info = machine_info()
    fresh_log_dir(LOG_DIR)
    progress(f"logs in {LOG_DIR}")
    with ExitStack() as exits:
        stack = start_stack(args, exits)
        runs = [run_config(stack, args, pool, n, i) for i, (pool, n) in enumerate(configs)]
    best = max(runs, key=lambda r: r["msgPerSec"])
    result = {"benchmark": "pipeline", "machine": info,
              "setup": {"messages": args.messages, "lines": args.lines, "sendDelayMs": args.send_delay_ms,
                        "deliverAfterMs": args.deliver_after_ms, "webWorkers": args.web_workers,
                        "webClass": args.web_class, "postClients": args.post_clients,
                        "sweepInterval": args.sweep_interval},
              "runs": runs, "best": best, "target": TARGET_PER_SEC}
    emit(result, as_json=args.json, human=human)


if __name__ == "__main__":
    main()
