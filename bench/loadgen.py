"""A small closed-loop HTTP load generator, for machines without wrk.

    .venv/bin/python bench/loadgen.py --url http://127.0.0.1:8000 --key tuco_sk_… --connections 8
          --duration 10 --offset 0 [--nonce abc]

It runs as its own process (never inside the app), with one asyncio task per connection over
HTTP/1.1 keep-alive, and makes the same distinct bodies as the wrk Lua script of
api_throughput.py (a new recipient and text per request). It prints one JSON line with the figures
api_throughput.py reads from wrk: reqPerSec, p50Ms, p99Ms, requests, non2xx, socketErrors, statuses.
Latency is measured per request from writing it to reading the whole answer, like wrk's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # it runs as a script, in its own process
from bench.recipients import bench_phone


def body_for(i: int, nonce: str) -> bytes:
    return json.dumps({"message": f"Hi there, bench {nonce} message {i}", "recipientPhone": bench_phone(i)}).encode()


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """(status, keep-alive): gunicorn's sync workers answer `Connection: close` every time."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length, keep_alive = 0, True
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "connection" and value.strip().lower() == "close":
            keep_alive = False
    if length:
        await reader.readexactly(length)
    return status, keep_alive


async def connection(slot: int, args: argparse.Namespace, deadline: float, latencies: list[float],
                     statuses: dict[int, int], errors: list[int]) -> None:
    url = urlsplit(args.url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    n = 0
    reader = writer = None
    while time.perf_counter() < deadline:
        if writer is None:
            reader, writer = await asyncio.open_connection(host, port)
        i = args.offset + n * args.connections + slot
        n += 1
        body = body_for(i, args.nonce)
        request = (f"POST /api/messages HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {args.key}\r\n"
                   f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
        started = time.perf_counter()
        try:
            writer.write(request)
            await writer.drain()
            status, keep_alive = await asyncio.wait_for(read_response(reader), timeout=5)  # type: ignore[arg-type]
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
            errors[0] += 1
            writer.close()
            reader = writer = None
            continue
        latencies.append((time.perf_counter() - started) * 1000)
        statuses[status] = statuses.get(status, 0) + 1
        if not keep_alive:
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(round(q * (len(sorted_values) - 1))))]


async def run(args: argparse.Namespace) -> dict[str, object]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = [0]
    started = time.perf_counter()
    deadline = started + args.duration
    await asyncio.gather(*(connection(slot, args, deadline, latencies, statuses, errors)
                           for slot in range(args.connections)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {"reqPerSec": round(len(latencies) / elapsed, 1), "p50Ms": round(percentile(latencies, 0.50), 2),
            "p99Ms": round(percentile(latencies, 0.99), 2), "requests": len(latencies),
            "non2xx": sum(v for k, v in statuses.items() if not 200 <= k < 400), "socketErrors": errors[0],
            "statuses": statuses}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--offset", type=int, default=0)
    parser.add_argument("--nonce", default="py")
    print(json.dumps(asyncio.run(run(parser.parse_args()))))


if __name__ == "__main__":
    main()
