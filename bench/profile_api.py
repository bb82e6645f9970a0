"""Where a POST /api/messages spends its CPU: cProfile over N in-process requests through the real WSGI stack.

    .venv/bin/python bench/profile_api.py [--requests 500] [--top 40] [--log-level INFO]

A fresh database (tuco_bench_profile) and a private redis-server, a workspace, key and line made with the
ops commands, then Django's test client posts N distinct messages (each a new lead, thread and message) in
this process under cProfile. Prints the mean wall time per request, then the cumulative time of the
functions that explain it (the product's own, Django's and DRF's layers, psycopg, logging), as a share of
the total. Wall time in-process is CPU time here: the database and Redis are local and idle.
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
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import (
    LOGS,
    bench_env,
    cleanup_on_sigterm,
    create_database,
    drop_database,
    fresh_log_dir,
    manage,
    migrate,
    progress,
    start_redis,
)

LOG_DIR = LOGS / "profile"
DB_NAME = "tuco_bench_profile"
# The layers worth naming: (label, file suffix, function) whose cumulative time is reported.
LAYERS = [
    ("whole request (test client → WSGI handler)", "django/test/client.py", "request"),
    ("middleware chain + view", "django/core/handlers/base.py", "_get_response"),
    ("DRF dispatch", "rest_framework/views.py", "dispatch"),
    ("  authentication (API key)", "tuco/services.py", "api_key_authenticate"),
    ("  idempotency mixin", "tuco/idempotency.py", "dispatch"),
    ("  body parsing (request.data)", "rest_framework/request.py", "_parse"),
    ("  parse_send_request", "messaging/send_input.py", "parse_send_request"),
    ("  message_create", "messaging/services/create.py", "message_create"),
    ("    active_lines", "messaging/send/pacing.py", "active_lines"),
    ("    dedup_claim", "messaging/dedup.py", "dedup_claim"),
    ("    lead_resolve_for_send", "leads/services.py", "lead_resolve_for_send"),
    ("    thread_touch", "messaging/threads.py", "thread_touch"),
    ("    Message.objects.create", "django/db/models/query.py", "create"),
    ("    state.record_created", "messaging/send/state.py", "record_created"),
    ("    enqueue_dispatch (on commit)", "messaging/send/worker.py", "enqueue_dispatch"),
    ("  send_response (document)", "messaging/api.py", "send_response"),
    ("    message_document", "messaging/documents.py", "message_document"),
    ("  JSON rendering", "rest_framework/renderers.py", "render"),
    ("SQL: Django cursor execute", "django/db/backends/utils.py", "_execute_with_wrappers"),
    ("SQL: ORM compilation", "django/db/models/sql/compiler.py", "as_sql"),
    ("logging (structlog)", "structlog/_base.py", "_proxy_to_logger"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args()
    cleanup_on_sigterm()
    fresh_log_dir(LOG_DIR)
    with ExitStack() as stack:
        database_url = create_database(DB_NAME)
        stack.callback(drop_database, database_url)
        redis_proc, redis_url = start_redis(LOG_DIR)
        stack.callback(redis_proc.stop)
        env = bench_env(database_url, redis_url, TUCO_LOG_LEVEL=args.log_level)
        progress(f"migrating {DB_NAME}")
        migrate(env)
        workspace = manage(env, "create_workspace", "bench-profile")
        key = manage(env, "create_api_key", "--workspace", workspace["id"])["key"]
        manage(env, "add_line", "--workspace", workspace["id"], "--phone", "+14155550100", "--relay-url",
               "http://127.0.0.1:9/", "--relay-password", "unused", "--no-register-webhook",
               "--daily-total", "100000", "--daily-new", "100000")
        os.environ.update(env)
        os.environ["DJANGO_SETTINGS_MODULE"] = "tuco.settings"
        import django

        django.setup()
        from django.db import connections
        from django.test import Client

        # Log lines go to a file, as a web process's stdout would be written out (not to this terminal).
        sys.stdout = open(LOG_DIR / "web.log", "w")  # noqa: SIM115 - restored below
        client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
        nonce = uuid.uuid4().hex[:8]

        def post(i: int) -> None:
            body = {"message": f"Hi there, profile {nonce} {i}",
                    "recipientPhone": f"+1{202 + i // 10000}555{i % 10000:04d}"}
            response = client.post("/api/messages", data=body, content_type="application/json")
            assert response.status_code == 201, response.content[:300]

        for i in range(50):  # warm caches (imports, the quick-sends list, connections)
            post(i)
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        for i in range(50, 50 + args.requests):
            post(i)
        profiler.disable()
        elapsed = time.perf_counter() - started
        sys.stdout.close()
        sys.stdout = sys.__stdout__
        connections.close_all()
    stats = pstats.Stats(profiler)
    total = max(stats.total_tt, 1e-9)  # type: ignore[attr-defined]
    print(f"{args.requests} POST /api/messages in-process at log level {args.log_level}: "
          f"{1000 * elapsed / args.requests:.2f} ms per request without the profiler's share "
          f"({1000 * total / args.requests:.2f} ms under cProfile)\n")
    print("cumulative time per request, by layer (share of the profiled total):")
    for label, suffix, function in LAYERS:
        found = [(cum, calls) for (path, _, name), (_, calls, _, cum, _) in stats.stats.items()  # type: ignore[attr-defined]
                 if path.endswith(suffix) and name == function]
        if found:
            cum = max(c for c, _ in found)
            print(f"  {label:48} {1000 * cum / args.requests:6.2f} ms  {100 * cum / total:5.1f}%")
    buffer = io.StringIO()
    pstats.Stats(profiler, stream=buffer).sort_stats("tottime").print_stats(args.top)
    (LOG_DIR / "profile.txt").write_text(buffer.getvalue())
    profiler.dump_stats(LOG_DIR / "profile.pstats")  # for pstats/snakeviz: callers and callees
    print(f"\nself-time top {args.top}: {LOG_DIR / 'profile.txt'}")


if __name__ == "__main__":
    main()
