"""What the hot-path instrumentation costs (docs/performance.md "Metrics"): each observe call the send path,
the relay client and the webhook delivery make, timed over many iterations in this process.

    python bench/metrics_overhead.py      # prints one JSON object, nanoseconds per call
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tuco.settings")
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")  # never connected to
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")

import django

django.setup()

from django.utils import timezone  # noqa: E402

from tuco import metrics  # noqa: E402

N = 200_000
LINES = [f"line{n:020d}" for n in range(50)]


def per_call(function, n: int = N) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    for i in range(n):
        function(i)
    return (time.perf_counter() - started) / n * 1e9


def main() -> None:
    now = timezone.now()
    created = now - timedelta(seconds=42)
    results = {
        "baseline_empty_call_ns": per_call(lambda i: None),
        "send_latency_observe_ns": per_call(lambda i: metrics.send_latency_observe(
            channel="imessage", created_at=created, sent_at=now)),
        "relay_call_observe_ok_ns": per_call(lambda i: metrics.relay_call_observe(
            line=LINES[i % 50], seconds=0.2, reason=None)),
        "relay_call_observe_error_ns": per_call(lambda i: metrics.relay_call_observe(
            line=LINES[i % 50], seconds=0.2, reason="http_5xx")),
        "webhook_delivery_observe_ns": per_call(lambda i: metrics.webhook_delivery_observe(
            outcome="delivered", status_code=200, event_created_at=created, at=now)),
        "perf_counter_pair_ns": per_call(lambda i: time.perf_counter() - time.perf_counter()),
    }
    print(json.dumps({k: round(v) for k, v in results.items()}))


if __name__ == "__main__":
    main()
