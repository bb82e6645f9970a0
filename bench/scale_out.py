"""Scale-out: the production shape on one machine, with a worker killed and Redis restarted mid-run.

    .venv/bin/python bench/scale_out.py [--messages 3000] [--scale-messages 600] [--workers 1,2,3]
                                        [--gap 1] [--post-rate 15] [--json]

What runs, each as its own OS process started from the operator contract (env vars + `manage.py`):
two web instances (gunicorn, 2 sync workers each) that the POST clients alternate between (the round
robin), up to 3 Celery send workers (`-Q celery,sends`, threads pool), one beat, 3 relay simulators (one
device each) carrying 12 lines, PostgreSQL (a database of its own), a redis-server of its own, and moto's S3
server as the object store. Every web and worker process has a media folder of its own
(`TUCO_MEDIA_ROOT=var/bench/scale_out/media/<process>`), so nothing may rely on a shared disk:
`TUCO_STORAGE=s3`, and the attachments are uploads (`POST /api/uploads` on one web instance) that a
worker reads back from the bucket.

Two phases:

1. Throughput with 1, 2, 3 workers (`--workers`): `--scale-messages` messages each, on lines without
   gaps (pacing would otherwise set the pace, not the workers), POSTed as fast as `--post-clients` allow.
2. The fault run: `--messages` messages (default 3,000) POSTed at `--post-rate` per second with every
   worker up, on lines with a `--gap`-second contact gap (every recipient is new, so each send is a first
   touch the gap applies to). When a third of them are POSTed one worker is `kill -9`'d and restarted;
   at two thirds Redis is stopped and started again (no persistence: its queue is lost).

Then the checks, the relay simulators' ledgers (`GET /sim/v1/sent`) against the database: every message
accepted is one row, ends `sent`/`delivered`, and left its device exactly once (one text part, one part per
attachment, the uploaded size); on each line the smallest gap between two sends as the device saw them is
at least the configured gap. It prints the checks, the throughput table and the CPU seconds per process.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
    wait_until,
)
from bench.recipients import bench_phone
from bench.scale_ledger import LedgerCheck, check_ledger
from tests.e2e.harness import _port_open, _redis_server
from tests.storage.s3server import ACCESS_KEY, BUCKET, REGION, SECRET_KEY, S3Server

LOG_DIR = LOGS / "scale_out"
DB_NAME = "tuco_bench_scale"
PASSWORD = "sim-password"
LIMIT = "1000000"  # daily / hourly line limits far above any run


@dataclass
class Stack:
    env: dict[str, str]
    database_url: str
    redis_url: str
    redis: Proc
    s3: S3Server
    webs: list[str]  # base URLs, the round robin
    procs: dict[str, Proc]
    sims: list[str]  # base URLs, one device each
    workers: dict[str, Proc] = field(default_factory=dict)


@dataclass
class Account:
    key: str
    lines: list[str]
    uploads: list[dict[str, Any]]  # POST /api/uploads answers


# --- the stack -------------------------------------------------------------------------------------------
def process_env(stack_env: dict[str, str], name: str) -> dict[str, str]:
    """One process's environment: the shared contract plus a local disk nobody else sees."""
    media = LOG_DIR / "media" / name
    media.mkdir(parents=True, exist_ok=True)
    return {**stack_env, "TUCO_MEDIA_ROOT": str(media)}


def start_stack(args: argparse.Namespace, exits: ExitStack) -> Stack:
    database_url = create_database(DB_NAME)
    exits.callback(drop_database, database_url)
    redis_port = free_port()
    redis_proc = Proc("redis", [_redis_server(), "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no"], {}, log_dir=LOG_DIR)
    start_redis(redis_proc, redis_port)
    exits.callback(redis_proc.stop)
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    progress("starting moto's S3 server")
    s3 = S3Server()
    exits.callback(s3.close)

    web_ports = [free_port() for _ in range(args.webs)]
    webs = [f"http://127.0.0.1:{port}" for port in web_ports]
    env = bench_env(database_url, redis_url, public_url=webs[0],
                    TUCO_STORAGE="s3", TUCO_S3_BUCKET=BUCKET, TUCO_S3_ENDPOINT_URL=s3.endpoint_url,
                    TUCO_S3_REGION=REGION, TUCO_S3_ACCESS_KEY_ID=ACCESS_KEY, TUCO_S3_SECRET_ACCESS_KEY=SECRET_KEY,
                    TUCO_S3_ADDRESSING_STYLE="path", TUCO_S3_PREFIX=f"scale-{uuid.uuid4().hex[:8]}",
                    TUCO_DEVICE_GAP_SECONDS="0", TUCO_CONTACT_GAP_SECONDS="0",
                    TUCO_SWEEP_INTERVAL_SECONDS="1", TUCO_SENDING_STUCK_SECONDS=str(args.stuck_seconds),
                    TUCO_RELAY_TIMEOUT_SECONDS="10", TUCO_VERIFY_POLL_SECONDS="0.5",
                    SYNC_FALLBACK_RETRY_ATTEMPTS="3", SYNC_FALLBACK_RETRY_GAP_SECONDS="1")
    progress(f"migrating {DB_NAME}")
    migrate(env)

    procs: dict[str, Proc] = {}
    sims = []
    for i in range(args.relays):
        port = free_port()
        sim = Proc(f"relay-{i + 1}", [PYTHON, "-m", "devtools.relay_simulator", "--host", "127.0.0.1", "--port",
                                      str(port), "--password", PASSWORD, "--quiet", "--send-delay-ms",
                                      str(args.send_delay_ms), "--deliver-after-ms", str(args.deliver_after_ms)],
                   env, log_dir=LOG_DIR).start()
        exits.callback(sim.stop)
        procs[sim.name], sims = sim, [*sims, f"http://127.0.0.1:{port}"]
    for i, port in enumerate(web_ports):
        name = f"web-{i + 1}"
        web = Proc(name, [str(BIN / "gunicorn"), "tuco.wsgi", "--bind", f"127.0.0.1:{port}", "--workers",
                          str(args.web_workers), "--log-level", "warning"], process_env(env, name),
                   log_dir=LOG_DIR).start()
        exits.callback(web.stop)
        procs[name] = web
    beat = Proc("beat", [str(BIN / "celery"), "-A", "tuco", "beat", "--loglevel", "WARNING", "--max-interval", "1"],
                process_env(env, "beat"), log_dir=LOG_DIR).start()
    exits.callback(beat.stop)
    procs["beat"] = beat
    for url in sims:
        wait_until(lambda u=url: requests.get(f"{u}/sim/v1/health", timeout=1).ok, timeout=30, what=f"{url} up")
    for url in webs:
        wait_until(lambda u=url: requests.get(f"{u}/health/ready", timeout=2).ok, timeout=60, what=f"{url} ready")
    stack = Stack(env=env, database_url=database_url, redis_url=redis_url, redis=redis_proc, s3=s3, webs=webs,
                  procs=procs, sims=sims)
    exits.callback(lambda: [w.stop() for w in stack.workers.values()])
    return stack


def start_redis(proc: Proc, port: int) -> None:
    proc.start()
    wait_until(lambda: _port_open(port), timeout=10, what="redis up")


def consumers(stack: Stack) -> int:
    """Worker processes blocked on the queue (kombu's BRPOP), i.e. ready to take a task."""
    try:
        return sum(c.get("cmd") == "brpop" for c in redis.Redis.from_url(stack.redis_url).client_list())
    except redis.RedisError:
        return 0


def start_worker(stack: Stack, name: str, args: argparse.Namespace) -> Proc:
    proc = stack.workers.get(name) or Proc(name, [
        str(BIN / "celery"), "-A", "tuco", "worker", "-Q", "celery,sends", "-n", f"{name}@%h", "--pool", "threads",
        "--concurrency", str(args.worker_threads), "--loglevel", "WARNING", "--without-gossip", "--without-mingle"],
        process_env(stack.env, name), log_dir=LOG_DIR)
    stack.workers[name] = proc
    before = consumers(stack)
    proc.start()

    def ready() -> bool:
        if not proc.alive:
            raise RuntimeError(f"{name} exited, see {proc.log_path}")
        return consumers(stack) > before

    wait_until(ready, timeout=90, what=f"{name} consuming")
    return proc


def make_account(stack: Stack, args: argparse.Namespace, name: str, gap: int) -> Account:
    workspace = manage(stack.env, "create_workspace", name)
    key = manage(stack.env, "create_api_key", "--workspace", workspace["id"])["key"]
    lines = []
    for i in range(args.lines):
        relay = stack.sims[i % len(stack.sims)]
        line = manage(stack.env, "add_line", "--workspace", workspace["id"], "--phone", f"+1415555{1000 + i:04d}",
                      "--relay-url", relay, "--relay-password", PASSWORD, "--device-gap-seconds", "0",
                      "--contact-gap-seconds", str(gap), "--daily-total", LIMIT, "--daily-new", LIMIT,
                      "--hourly-first-touch", LIMIT)
        if not line.get("webhookRegistered"):
            raise RuntimeError(f"line on {relay} did not register its webhook: {line}")
        lines.append(line["id"])
    uploads = []
    for i in range(args.uploads):  # distinct files, through alternating web instances
        body = png_bytes(4096 * (i + 1))
        response = requests.post(f"{stack.webs[i % len(stack.webs)]}/api/uploads", timeout=30,
                                 headers={"Authorization": f"Bearer {key}"},
                                 files={"file": (f"photo-{i}.png", body, "image/png")})
        response.raise_for_status()
        uploads.append(response.json())
    return Account(key=key, lines=lines, uploads=uploads)


def png_bytes(size: int) -> bytes:
    """A PNG of about `size` bytes (a valid header and IHDR; the rest is a private ancillary chunk)."""
    from tests.attachments.samples import png

    head = png()
    return head[:-12] + _png_chunk(b"tuCo", bytes(size)) + head[-12:]


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    import struct
    import zlib

    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


# --- posting -------------------------------------------------------------------------------------------
class Poster:
    """POSTs messages round robin over the web instances, each with an Idempotency-Key it retries under."""

    def __init__(self, stack: Stack, account: Account, batch_id: str, *, first_number: int,
                 attachment_every: int) -> None:
        self.stack, self.account, self.batch_id = stack, account, batch_id
        self.first_number, self.attachment_every = first_number, attachment_every
        self.accepted: dict[int, str] = {}
        self.statuses: Counter[str] = Counter()
        self.retries = 0
        self.lock = threading.Lock()
        self.local = threading.local()

    def body(self, i: int) -> dict[str, Any]:
        n = self.first_number + i
        body: dict[str, Any] = {"message": f"Scale-out {self.batch_id} #{i}", "batchId": self.batch_id,
                                "recipientPhone": bench_phone(n)}
        if self.attachment_every and i % self.attachment_every == 0 and self.account.uploads:
            body["attachmentUrls"] = [self.account.uploads[(i // self.attachment_every) % len(self.account.uploads)]
                                      ["url"]]
        return body

    def post(self, i: int) -> None:
        session = getattr(self.local, "session", None)
        if session is None:
            session = self.local.session = requests.Session()
            session.headers["Authorization"] = f"Bearer {self.account.key}"
        body, key = self.body(i), f"{self.batch_id}-{i}"
        for attempt in range(6):
            web = self.stack.webs[(i + attempt) % len(self.stack.webs)]
            try:
                response = session.post(f"{web}/api/messages", json=body, timeout=30,
                                        headers={"Idempotency-Key": key})
                outcome = str(response.status_code)
            except requests.RequestException as exc:
                response, outcome = None, type(exc).__name__
            with self.lock:
                self.statuses[outcome] += 1
                if response is not None and response.status_code == 201:
                    self.accepted[i] = response.json()["message"]["_id"]
                    return
                self.retries += 1
            time.sleep(0.5 * (attempt + 1))

    def post_all(self, count: int, *, clients: int, rate: float = 0.0,
                 on_posted: Callable[[int], None] | None = None) -> tuple[float, float]:
        """POST `count` messages with `clients` threads, at most `rate` per second (0 = as fast as they go)."""
        started = time.time()
        done = [0]

        def one(i: int) -> None:
            if rate:
                time.sleep(max(0.0, started + i / rate - time.time()))
            self.post(i)
            with self.lock:
                done[0] += 1
                posted = done[0]
            if on_posted is not None:
                on_posted(posted)

        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(one, range(count)))
        return started, time.time()


# --- waiting and measuring ---------------------------------------------------------------------------------
def batch_counts(stack: Stack, batch_id: str) -> dict[str, int]:
    with connect(stack.database_url) as db:
        return dict(db.execute("SELECT status, count(*) FROM messaging_message WHERE batch_id = %s GROUP BY status",
                               [batch_id]).fetchall())


def wait_settled(stack: Stack, batch_id: str, expected: int, timeout: float) -> dict[str, int]:
    """Until every message of the batch is sent, delivered or failed (or the timeout)."""
    deadline = time.monotonic() + timeout
    counts: dict[str, int] = {}
    last_report = 0.0
    while time.monotonic() < deadline:
        counts = batch_counts(stack, batch_id)
        done = sum(counts.get(s, 0) for s in ("sent", "delivered", "failed", "fallback"))
        if done >= expected:
            return counts
        if time.monotonic() - last_report > 15:
            progress(f"  {done}/{expected} settled: {counts}")
            last_report = time.monotonic()
        time.sleep(0.5)
    progress(f"  TIMEOUT after {timeout:.0f}s: {counts}")
    return counts


def send_timing(stack: Stack, batch_id: str) -> dict[str, Any]:
    with connect(stack.database_url) as db:
        rows = db.execute("SELECT extract(epoch FROM sent_at), extract(epoch FROM sent_at - created_at) "
                          "FROM messaging_message WHERE batch_id = %s AND sent_at IS NOT NULL", [batch_id]).fetchall()
        waits = dict(db.execute(
            "SELECT e.reason, count(*) FROM messaging_messageevent e JOIN messaging_message m ON m.id = e.message_id "
            "WHERE m.batch_id = %s AND e.to_status = 'queued' GROUP BY e.reason ORDER BY 2 DESC", [batch_id]
        ).fetchall())
    latencies = [float(r[1]) for r in rows]
    return {"lastSentAt": max((float(r[0]) for r in rows), default=0.0), "sent": len(rows),
            "latencyP50S": round(percentile(latencies, 50), 2) if latencies else None,
            "latencyP99S": round(percentile(latencies, 99), 2) if latencies else None, "waits": waits}


def cpu_meter(stack: Stack) -> CpuMeter:
    def groups() -> dict[str, list[int]]:
        return {
            "web": [p for name, proc in stack.procs.items() if name.startswith("web") for p in descendants(proc.pid)],
            "workers": [p for proc in stack.workers.values() if proc.alive for p in descendants(proc.pid)],
            "beat": descendants(stack.procs["beat"].pid),
            "relays": [proc.pid for name, proc in stack.procs.items() if name.startswith("relay")],
            "postgres": postgres_backends(stack.database_url),
            "redis": [stack.redis.pid] if stack.redis.alive else [],
            "s3": [stack.s3.process.pid],
        }

    return CpuMeter(groups)


def summarize_cpu(cpu: dict[str, Any]) -> dict[str, Any]:
    ours = sum(cpu["seconds"].values())
    return {"machineBusyPct": round(cpu["machineBusyPct"], 1),
            "cpuSeconds": {k: round(v, 1) for k, v in cpu["seconds"].items()}
            | {"other": round(max(cpu["machineBusySeconds"] - ours, 0), 1)}}


def reset_relays(stack: Stack) -> None:
    for url in stack.sims:
        requests.post(f"{url}/sim/v1/reset", timeout=5).raise_for_status()


# --- phase 1: throughput by worker count ----------------------------------------------------------------------
def throughput_run(stack: Stack, account: Account, args: argparse.Namespace, workers: int,
                   first_number: int) -> dict[str, Any]:
    while len(stack.workers) < workers:
        name = f"worker-{len(stack.workers) + 1}"
        progress(f"starting {name}")
        start_worker(stack, name, args)
    reset_relays(stack)
    batch_id = f"scale-{workers}w-{uuid.uuid4().hex[:6]}"
    poster = Poster(stack, account, batch_id, first_number=first_number, attachment_every=args.attachment_every)
    meter = cpu_meter(stack)
    meter.start()
    progress(f"{workers} worker(s): POSTing {args.scale_messages} messages")
    first_post, last_post = poster.post_all(args.scale_messages, clients=args.post_clients)
    counts = wait_settled(stack, batch_id, len(poster.accepted), args.timeout)
    cpu = meter.stop()
    timing = send_timing(stack, batch_id)
    elapsed = timing["lastSentAt"] - first_post
    ledger = check_ledger(stack.database_url, stack.sims, batch_id, gap_seconds=0)
    return {"workers": workers, "messages": args.scale_messages, "sent": timing["sent"],
            "msgPerSec": round(timing["sent"] / elapsed, 1) if elapsed > 0 else 0.0, "elapsedS": round(elapsed, 1),
            "postPhaseS": round(last_post - first_post, 1), "latencyP50S": timing["latencyP50S"],
            "latencyP99S": timing["latencyP99S"], "exactlyOnce": ledger.exactly_once_ok,
            "statuses": counts, "waits": timing["waits"], **summarize_cpu(cpu)}


# --- phase 2: the fault run --------------------------------------------------------------------------------
class Faults:
    """Kills a worker at one third of the POSTs and restarts Redis at two thirds, from a thread of its own."""

    def __init__(self, stack: Stack, args: argparse.Namespace, total: int, batch_id: str) -> None:
        self.stack, self.args, self.total, self.batch_id = stack, args, total, batch_id
        self.events: list[dict[str, Any]] = []
        self.kill_at, self.redis_at = total // 3, 2 * total // 3
        self.triggered: set[str] = set()
        self.threads: list[threading.Thread] = []
        self.lock = threading.Lock()

    def on_posted(self, posted: int) -> None:
        if self.args.no_faults:
            return
        with self.lock:
            for name, at, action in (("kill", self.kill_at, self.kill_worker), ("redis", self.redis_at,
                                                                                  self.restart_redis)):
                if posted >= at and name not in self.triggered:
                    self.triggered.add(name)
                    thread = threading.Thread(target=self._run, args=(name, action), daemon=True)
                    thread.start()
                    self.threads.append(thread)

    def _run(self, name: str, action: Callable[[], dict[str, Any]]) -> None:
        try:
            self.events.append({"fault": name, **action()})
        except Exception as exc:  # reported, and the checks will show what it cost
            self.events.append({"fault": name, "error": repr(exc)})

    def kill_worker(self) -> dict[str, Any]:
        victim = self.stack.workers[sorted(self.stack.workers)[-1]]
        in_flight = batch_counts(self.stack, self.batch_id).get("sending", 0)
        at = time.time()
        victim.stop(sig=9)
        progress(f"  kill -9 {victim.name} (pid {victim.pid}; {in_flight} message(s) in sending)")
        time.sleep(self.args.down_seconds)
        start_worker(self.stack, victim.name, self.args)
        progress(f"  {victim.name} restarted and consuming after {time.time() - at:.1f}s")
        return {"process": victim.name, "sendingAtKill": in_flight, "downS": round(time.time() - at, 1)}

    def restart_redis(self) -> dict[str, Any]:
        port = int(self.stack.redis_url.rsplit(":", 1)[1].split("/")[0])
        queued = redis.Redis.from_url(self.stack.redis_url).llen("sends")
        at = time.time()
        self.stack.redis.stop()
        progress(f"  Redis stopped ({queued} task(s) in the sends queue lost)")
        time.sleep(self.args.down_seconds)
        start_redis(self.stack.redis, port)
        wait_until(lambda: consumers(self.stack) >= len(self.stack.workers), timeout=120,
                   what="every worker consuming again")
        progress(f"  Redis back, every worker consuming after {time.time() - at:.1f}s")
        return {"process": "redis", "queuedTasksLost": queued, "downS": round(time.time() - at, 1)}

    def join(self) -> None:
        for thread in self.threads:
            thread.join(300)


def fault_run(stack: Stack, account: Account, args: argparse.Namespace, first_number: int) -> dict[str, Any]:
    reset_relays(stack)
    batch_id = f"scale-faults-{uuid.uuid4().hex[:6]}"
    poster = Poster(stack, account, batch_id, first_number=first_number, attachment_every=args.attachment_every)
    faults = Faults(stack, args, args.messages, batch_id)
    meter = cpu_meter(stack)
    meter.start()
    progress(f"fault run: POSTing {args.messages} messages at {args.post_rate}/s over {len(stack.webs)} web "
             f"instances, {len(stack.workers)} workers, {args.lines} lines with a {args.gap}s gap")
    first_post, last_post = poster.post_all(args.messages, clients=args.post_clients, rate=args.post_rate,
                                            on_posted=faults.on_posted)
    faults.join()
    progress(f"POSTs done in {last_post - first_post:.0f}s: {dict(poster.statuses)}; waiting for the sends")
    counts = wait_settled(stack, batch_id, len(poster.accepted), args.timeout)
    cpu = meter.stop()
    time.sleep(args.settle_seconds)  # a straggling duplicate would show itself on a device now
    timing = send_timing(stack, batch_id)
    ledger = check_ledger(stack.database_url, stack.sims, batch_id, gap_seconds=args.gap,
                          expected_ids=set(poster.accepted.values()), upload_sizes={
                              u["url"]: u["size"] for u in account.uploads})
    elapsed = timing["lastSentAt"] - first_post
    return {"messages": args.messages, "accepted": len(poster.accepted), "postStatuses": dict(poster.statuses),
            "postRetries": poster.retries, "faults": faults.events, "statuses": counts,
            "msgPerSec": round(timing["sent"] / elapsed, 1) if elapsed > 0 else 0.0, "elapsedS": round(elapsed, 1),
            "postPhaseS": round(last_post - first_post, 1), "latencyP50S": timing["latencyP50S"],
            "latencyP99S": timing["latencyP99S"], "waits": timing["waits"], "ledger": ledger.as_json(),
            **summarize_cpu(cpu)}


# --- output ----------------------------------------------------------------------------------------------
def human(result: dict[str, Any]) -> None:
    print_machine(result["machine"])
    s = result["setup"]
    print(f"scale-out: {s['webs']} web instances (gunicorn, {s['webWorkers']} sync workers each, clients alternate), "
          f"up to {s['maxWorkers']} send workers ({s['workerThreads']} threads each, own media folder each, "
          f"TUCO_STORAGE=s3 on moto), 1 beat, {s['relays']} relay simulators with {s['lines']} lines "
          f"(send delay {s['sendDelayMs']} ms), 1 attachment in every {s['attachmentEvery']} messages\n")
    if result["throughput"]:
        print(f"throughput by worker count ({s['scaleMessages']} messages each, lines without gaps, "
              f"{s['postClients']} POST clients):")
        columns = ("workers", "msgPerSec", "elapsedS", "postPhaseS", "latencyP50S", "latencyP99S", "sent",
                   "exactlyOnce", "machineBusyPct")
        print_table([{k: run[k] for k in columns} for run in result["throughput"]])
        for run in result["throughput"]:
            cpu = ", ".join(f"{k} {v:.1f}" for k, v in run["cpuSeconds"].items())
            print(f"  {run['workers']} worker(s) cpu s: {cpu}")
        print()
    run = result.get("faults")
    if run:
        ledger = run["ledger"]
        print(f"fault run: {run['messages']} messages at {s['postRate']}/s, {s['gap']}s gap per line")
        for event in run["faults"]:
            print(f"  fault: {event}")
        print(f"  POST answers {run['postStatuses']} ({run['postRetries']} retried with the same Idempotency-Key), "
              f"{run['accepted']} accepted")
        print(f"  final statuses {run['statuses']}; {run['msgPerSec']} msg/s over {run['elapsedS']}s, "
              f"latency p50 {run['latencyP50S']}s p99 {run['latencyP99S']}s")
        print(f"  why messages waited: {run['waits']}")
        cpu = ", ".join(f"{k} {v:.1f}" for k, v in run["cpuSeconds"].items())
        print(f"  cpu s: {cpu}; machine busy {run['machineBusyPct']}%")
        LedgerCheck.print_json(ledger)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=3000, help="messages in the fault run (0 = skip it)")
    parser.add_argument("--scale-messages", type=int, default=600, help="messages per throughput run (0 = skip)")
    parser.add_argument("--workers", default="1,2,3", help="worker counts of the throughput runs")
    parser.add_argument("--max-workers", type=int, default=3, help="workers in the fault run")
    parser.add_argument("--webs", type=int, default=2)
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn sync workers per web instance")
    parser.add_argument("--worker-threads", type=int, default=8)
    parser.add_argument("--relays", type=int, default=3)
    parser.add_argument("--lines", type=int, default=12)
    parser.add_argument("--gap", type=int, default=1, help="contact gap (s) of each line in the fault run")
    parser.add_argument("--post-rate", type=float, default=10, help="POSTs per second in the fault run")
    parser.add_argument("--post-clients", type=int, default=8)
    parser.add_argument("--attachment-every", type=int, default=10, help="1 in N messages has an upload attached")
    parser.add_argument("--uploads", type=int, default=4, help="distinct uploads per workspace")
    parser.add_argument("--send-delay-ms", type=int, default=20)
    parser.add_argument("--deliver-after-ms", type=int, default=300)
    parser.add_argument("--stuck-seconds", type=float, default=10, help="TUCO_SENDING_STUCK_SECONDS")
    parser.add_argument("--down-seconds", type=float, default=3, help="how long the killed worker / Redis stay down")
    parser.add_argument("--settle-seconds", type=float, default=5)
    parser.add_argument("--timeout", type=float, default=1800, help="give up waiting for a batch after this long")
    parser.add_argument("--no-faults", action="store_true", help="the fault run without its faults (a control)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    cleanup_on_sigterm()
    counts = [int(n) for n in args.workers.split(",") if n] if args.scale_messages else []

    info = machine_info()
    fresh_log_dir(LOG_DIR)
    progress(f"logs in {LOG_DIR}")
    result: dict[str, Any] = {"benchmark": "scale_out", "machine": info, "throughput": [], "setup": {
        "webs": args.webs, "webWorkers": args.web_workers, "maxWorkers": max([args.max_workers, *counts]),
        "workerThreads": args.worker_threads, "relays": args.relays, "lines": args.lines, "gap": args.gap,
        "postRate": args.post_rate, "postClients": args.post_clients, "attachmentEvery": args.attachment_every,
        "sendDelayMs": args.send_delay_ms, "scaleMessages": args.scale_messages, "messages": args.messages}}
    with ExitStack() as exits:
        stack = start_stack(args, exits)
        number = 0
        if counts:
            unpaced = make_account(stack, args, "scale-unpaced", gap=0)
            for n in sorted(counts):
                result["throughput"].append(throughput_run(stack, unpaced, args, n, number))
                number += args.scale_messages
        if args.messages:
            paced = make_account(stack, args, "scale-paced", gap=args.gap)
            while len(stack.workers) < args.max_workers:
                start_worker(stack, f"worker-{len(stack.workers) + 1}", args)
            result["faults"] = fault_run(stack, paced, args, number)
    (LOG_DIR / "result.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    emit(result, as_json=args.json, human=human)


if __name__ == "__main__":
    main()
