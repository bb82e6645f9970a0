"""The beat scan: does its cost follow the due rows, or the backlog?

    .venv/bin/python bench/sweep.py [--backlog 100000] [--due 500] [--repeat 20] [--json]

In a fresh database (tuco_bench_sweep) this times `messaging.send.state.claim_due_batch(now=…,
batch_size=500)` — the SELECT … FOR UPDATE SKIP LOCKED + UPDATE of the sweep — in four states:

  empty          no rows at all
  due only       --due rows due now, nothing else
  backlog only   --backlog queued/scheduled rows due in 1–8 days, nothing due
  backlog + due  both

and the whole `sweep_due_messages` (claim + publish one dispatch task per row) with the broker
publish stubbed and with a real Redis broker. Each figure is the median and p95 of --repeat calls;
`now` moves on by more than the enqueue lease between calls, so every call claims the due rows
again and commits for real. Before each state: VACUUM ANALYZE (what autovacuum would have done).
Then EXPLAIN (ANALYZE, BUFFERS) of the exact statement the code ran (captured, then re-run in a
rolled-back transaction) shows the plan uses the partial index msg_due.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import re
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import (
    LOGS,
    bench_env,
    cleanup_on_sigterm,
    create_database,
    drop_database,
    emit,
    fresh_log_dir,
    machine_info,
    migrate,
    percentile,
    print_machine,
    print_table,
    progress,
    start_redis,
)

LOG_DIR = LOGS / "sweep"
DB_NAME = "tuco_bench_sweep"
BATCH = 500
TARGET_MS = 50.0


class Clock:
    """The `now` of successive sweep calls: each one a lease (60 s) later than the last, so the same due rows
    are claimable again. A whole run (~260 calls) spans ~4.5 h, far before the backlog's first row (1 day)."""

    def __init__(self, base: datetime) -> None:
        self.base, self.calls = base, 0

    def next(self) -> datetime:
        self.calls += 1
        return self.base + timedelta(seconds=61) * self.calls


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "tuco.settings"
    import django

    django.setup()


def command(*args: str) -> dict[str, Any]:
    import json

    from django.core.management import call_command

    out = io.StringIO()
    call_command(*args, "--json", stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def make_lines(workspaces: int, lines_per_workspace: int) -> list[tuple[str, str]]:
    """(workspace id, line id) pairs, made with the ops commands (in-process)."""
    pairs = []
    for w in range(workspaces):
        workspace = command("create_workspace", f"bench-sweep-{w}")
        for n in range(lines_per_workspace):
            line = command("add_line", "--workspace", workspace["id"], "--phone", f"+1415555{w * 10 + n:04d}",
                           "--relay-url", f"http://127.0.0.1:9/{w}-{n}", "--relay-password", "unused",
                           "--no-register-webhook")
            pairs.append((workspace["id"], line["id"]))
    return pairs


def insert_messages(pairs: list[tuple[str, str]], count: int, *, due: bool, base: datetime, seed: int) -> float:
    """COPY `count` message rows in batches of 5,000; returns seconds taken.

    Every column is prepared once from a template instance, as Django would save it (defaults, JSON
    adapters); per row only the columns that vary are replaced, which keeps 100k rows to seconds.
    """
    from django.db import connection

    from messaging.models import Message, Status
    from tuco.ids import new_id

    fields = Message._meta.concrete_fields
    template = Message(workspace_id=pairs[0][0], line_id=pairs[0][1])
    prepared = [f.get_db_prep_save(f.pre_save(template, True), connection) for f in fields]
    slot = {f.attname: i for i, f in enumerate(fields)}
    columns = ", ".join(f'"{f.column}"' for f in fields)
    rng = random.Random(seed)
    started = time.perf_counter()
    for first in range(0, count, 5000):
        with connection.cursor() as cursor, cursor.cursor.copy(
                f'COPY "{Message._meta.db_table}" ({columns}) FROM STDIN') as copy:
            for i in range(first, min(first + 5000, count)):
                if due:
                    status, reason = Status.PENDING, ""
                    next_at = base - timedelta(seconds=rng.uniform(0, 600))
                else:
                    status, reason = rng.choice([(Status.QUEUED, "line_daily_total"),
                                                 (Status.QUEUED, "time_window"), (Status.SCHEDULED, "scheduled")])
                    next_at = base + timedelta(days=1, seconds=rng.uniform(0, 7 * 86400))
                row = list(prepared)
                phone = f"+1202555{i % 10000:04d}"
                for name, value in (("id", new_id()), ("workspace_id", pairs[i % len(pairs)][0]),
                                    ("line_id", pairs[i % len(pairs)][1]), ("status", status),
                                    ("queued_reason", reason), ("next_attempt_at", next_at),
                                    ("scheduled_date", next_at if status == Status.SCHEDULED else None),
                                    ("body", f"Backlog message {seed}-{i}"), ("recipient_phone", phone),
                                    ("send_to_address", phone)):
                    row[slot[name]] = value
                copy.write_row(row)
    return time.perf_counter() - started


def vacuum_analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE messaging_message")


def time_calls(call: Callable[[datetime], Any], *, clock: Clock, repeat: int) -> dict[str, Any]:
    """One untimed warm-up, then `repeat` timed calls, each with `now` one lease later."""
    results: list[float] = []
    returned: list[Any] = []
    for i in range(repeat + 1):
        now = clock.next()
        started = time.perf_counter()
        value = call(now)
        elapsed = (time.perf_counter() - started) * 1000
        if i:
            results.append(elapsed)
            returned.append(value)
    return {"medianMs": statistics.median(results), "p95Ms": percentile(results, 95), "minMs": min(results),
            "maxMs": max(results), "returned": returned[0] if len(set(map(str, returned))) == 1 else returned}


def claim(now: datetime) -> int:
    from messaging.send.state import claim_due_batch

    return len(claim_due_batch(now=now, batch_size=BATCH))


def sweep(now: datetime) -> int:
    from messaging.send.worker import sweep_due_messages

    return sweep_due_messages(now=now)


def sweep_stubbed(now: datetime) -> int:
    with mock.patch("messaging.tasks.dispatch_message.apply_async"):
        return sweep(now)


def explain(now: datetime) -> dict[str, Any]:
    """EXPLAIN (ANALYZE, BUFFERS) of the statement claim_due_batch really runs, in a rolled-back transaction."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    with transaction.atomic():
        before = transaction.savepoint()
        with CaptureQueriesContext(connection) as captured:
            claim(now)
        transaction.savepoint_rollback(before)  # the rows it claimed are claimable again for the EXPLAIN
        statement = next(q["sql"] for q in captured.captured_queries if "FOR UPDATE SKIP LOCKED" in q["sql"])
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)
    buffers = re.search(r"Buffers: shared hit=(\d+)(?: read=(\d+))?", plan)
    return {"plan": plan, "usesMsgDue": "msg_due" in plan,
            "executionMs": float(re.search(r"Execution Time: ([\d.]+) ms", plan).group(1)),  # type: ignore[union-attr]
            "sharedBuffers": sum(int(b or 0) for b in buffers.groups()) if buffers else 0}


def update_counters() -> tuple[int, int]:
    """(rows updated, of which HOT) on messaging_message so far, this backend's pending counts included."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'messaging_message'")
        updated, hot = cursor.fetchone()
    return updated, hot


def table_size() -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), pg_relation_size('messaging_message'), pg_relation_size('msg_due') "
                       "FROM messaging_message")
        rows, table, index = cursor.fetchone()
    return {"rows": rows, "tableKiB": table // 1024, "msgDueIndexKiB": index // 1024}


def measure_state(name: str, *, clock: Clock, repeat: int, redis_client: Any) -> dict[str, Any]:
    vacuum_analyze()
    size = table_size()
    progress(f"{name}: {size['rows']:,} rows; timing claim_due_batch x{repeat}")
    row: dict[str, Any] = {"state": name, **size}
    updated, hot = update_counters()
    claimed = time_calls(claim, clock=clock, repeat=repeat)
    updated, hot = (a - b for a, b in zip(update_counters(), (updated, hot), strict=True))
    row.update({"claimed": claimed["returned"], "claimMedianMs": claimed["medianMs"], "claimP95Ms": claimed["p95Ms"],
                "hotUpdatePct": round(100 * hot / updated, 1) if updated else None})
    vacuum_analyze()
    stubbed = time_calls(sweep_stubbed, clock=clock, repeat=repeat)
    row.update({"sweepStubMedianMs": stubbed["medianMs"], "sweepStubP95Ms": stubbed["p95Ms"]})

    def sweep_real(now: datetime) -> int:
        try:
            return sweep(now)
        finally:
            redis_client.flushall()  # the queue would otherwise grow by 500 tasks per call

    vacuum_analyze()
    real = time_calls(sweep_real, clock=clock, repeat=repeat)
    row.update({"sweepRedisMedianMs": real["medianMs"], "sweepRedisP95Ms": real["p95Ms"]})
    vacuum_analyze()
    row["explain"] = explain(clock.next())
    return row


def human(result: dict[str, Any]) -> None:
    print_machine(result["machine"])
    cfg = result["setup"]
    print(f"beat scan: claim_due_batch(batch_size={BATCH}) and sweep_due_messages, {cfg['repeat']} calls per figure; "
          f"backlog {cfg['backlog']:,} rows over {cfg['lines']} lines in {cfg['workspaces']} workspaces "
          f"(bulk insert {cfg['insertSeconds']:.1f}s), {cfg['due']} due rows\n")
    columns = ("state", "rows", "claimed", "claimMedianMs", "claimP95Ms", "sweepStubMedianMs", "sweepStubP95Ms",
               "sweepRedisMedianMs", "sweepRedisP95Ms")
    print_table([{c: row[c] for c in columns} for row in result["states"]])
    print("\nEXPLAIN (ANALYZE, BUFFERS) of the claim statement:")
    print_table([{"state": row["state"], "usesMsgDue": row["explain"]["usesMsgDue"],
                  "executionMs": row["explain"]["executionMs"], "sharedBuffers": row["explain"]["sharedBuffers"],
                  "tableKiB": row["tableKiB"], "msgDueIndexKiB": row["msgDueIndexKiB"],
                  "hotUpdate%": row["hotUpdatePct"]} for row in result["states"]])
    print("(hotUpdate%: share of the timed claims' row updates that were HOT, i.e. wrote no index entries)")
    for row in result["states"]:
        if row["state"] in ("empty", "backlog + due"):
            print(f"\n-- {row['state']}\n{row['explain']['plan']}")
    print("\ntargets:")
    for name, value, target in result["checks"]:
        print(f"  {name:44} {value:8.2f}   target <= {target:<5g} {'met' if value <= target else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backlog", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--workspaces", type=int, default=5)
    parser.add_argument("--lines-per-workspace", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    cleanup_on_sigterm()

    import redis

    info = machine_info()
    fresh_log_dir(LOG_DIR)
    with ExitStack() as exits:
        database_url = create_database(DB_NAME)
        exits.callback(drop_database, database_url)
        redis_proc, redis_url = start_redis(LOG_DIR)
        exits.callback(redis_proc.stop)
        redis_client = redis.Redis.from_url(redis_url)
        env = bench_env(database_url, redis_url)
        progress(f"migrating {DB_NAME}")
        migrate(env)
        setup_django(env)
        from django.db import connections
        from django.utils import timezone

        exits.callback(connections.close_all)  # before the database is dropped
        pairs = make_lines(args.workspaces, args.lines_per_workspace)
        base = timezone.now()
        clock = Clock(base)
        states = [measure_state("empty", clock=clock, repeat=args.repeat, redis_client=redis_client)]
        insert_messages(pairs, args.due, due=True, base=base, seed=1)
        states.append(measure_state("due only", clock=clock, repeat=args.repeat, redis_client=redis_client))
        progress(f"inserting {args.backlog:,} backlog rows (COPY, batches of 5,000)")
        insert_seconds = insert_messages(pairs, args.backlog, due=False, base=base, seed=2)
        states.append(measure_state("backlog + due", clock=clock, repeat=args.repeat, redis_client=redis_client))
        from messaging.models import Message

        Message.objects.filter(status="pending").delete()
        states.append(measure_state("backlog only", clock=clock, repeat=args.repeat, redis_client=redis_client))
    by = {row["state"]: row for row in states}
    checks = [
        ("claim, backlog+due (ms)", by["backlog + due"]["claimMedianMs"], TARGET_MS),
        ("claim, backlog only / empty (ratio)",
         by["backlog only"]["claimMedianMs"] / by["empty"]["claimMedianMs"], 2.0),
        ("claim, backlog+due / due only (ratio)",
         by["backlog + due"]["claimMedianMs"] / by["due only"]["claimMedianMs"], 2.0),
        ("claim, backlog+due / empty (ratio)",
         by["backlog + due"]["claimMedianMs"] / by["empty"]["claimMedianMs"], 2.0),
    ]
    result = {"benchmark": "sweep", "machine": info,
              "setup": {"backlog": args.backlog, "due": args.due, "repeat": args.repeat,
                        "workspaces": args.workspaces, "lines": len(pairs), "insertSeconds": insert_seconds},
              "states": states, "checks": checks}
    emit(result, as_json=args.json, human=human)


if __name__ == "__main__":
    main()
