"""What the send API's one broker write costs: Celery's publish of the dispatch task against a bare LPUSH.

    .venv/bin/python bench/publish_cost.py [--count 3000]

A private redis-server; in this process, Django set up with the production settings of the benchmarks.
Measures CPU and wall time per call of `messaging.send.wake.publish(DISPATCH, id)` (what `enqueue_dispatch`
does after the commit: Celery `apply_async` → kombu producer → Redis transport `_put`) and of an LPUSH of a
message of the same size on one kept redis-py client (what the floor of `make bench-api` does). Then the
publish's own self-time under cProfile, the top entries: where Celery and kombu spend it.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import LOGS, base_database_url, bench_env, cleanup_on_sigterm, fresh_log_dir, progress, start_redis

LOG_DIR = LOGS / "publish_cost"
SENDS_QUEUE = "sends"  # settings.CELERY_TASK_ROUTES: where the dispatch task goes (a Redis list of that name)


def per_call_ms(count: int, call: Callable[[], object]) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(count):
        call()
    return (time.process_time() - cpu) / count * 1e3, (time.perf_counter() - wall) / count * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=3000)
    args = parser.parse_args()
    cleanup_on_sigterm()
    fresh_log_dir(LOG_DIR)
    redis_proc, redis_url = start_redis(LOG_DIR)
    try:
        # Nothing here touches the database; the URL only satisfies the settings.
        os.environ.update(bench_env(base_database_url(), redis_url, TUCO_LOG_LEVEL="INFO"))
        os.environ["DJANGO_SETTINGS_MODULE"] = "tuco.settings"
        import django

        django.setup()
        import redis

        from messaging.send import wake

        def publish() -> None:
            wake.publish(wake.DISPATCH, str(uuid.uuid4()))

        client = redis.Redis.from_url(redis_url)
        publish()
        message_size = len(client.lindex(SENDS_QUEUE, 0))  # kombu's JSON envelope around Celery's message

        def lpush() -> None:
            client.lpush("publish-cost-probe", b"x" * message_size)

        progress(f"{args.count} publishes and {args.count} LPUSHes of {message_size} bytes")
        per_call_ms(200, publish)  # warm: imports, the producer pool, the connection
        celery_cpu, celery_wall = per_call_ms(args.count, publish)
        lpush_cpu, lpush_wall = per_call_ms(args.count, lpush)
        profiler = cProfile.Profile()
        profiler.enable()
        per_call_ms(args.count, publish)
        profiler.disable()
    finally:
        redis_proc.stop()
    print(f"{'':32} {'CPU ms/call':>12} {'wall ms/call':>13}")
    print(f"{'Celery publish (wake.publish)':32} {celery_cpu:12.3f} {celery_wall:13.3f}")
    print(f"{'bare LPUSH, kept client':32} {lpush_cpu:12.3f} {lpush_wall:13.3f}")
    print(f"difference: {celery_cpu - lpush_cpu:.3f} ms CPU per message\n")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
    print(out.getvalue().split("\n", 6)[-1].strip("\n"))


if __name__ == "__main__":
    main()
