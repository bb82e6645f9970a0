"""The benchmarks' recipients: a distinct, valid US number for every index (no imports, so the load
generator, which runs as its own process, can use it too)."""

from __future__ import annotations

AREA_CODES = ["202", "415", "212", "312", "617", "303", "206", "713", "305", "404", "512", "702"]


def bench_phone(n: int) -> str:
    """+1 <area> 555 <n mod 10000>: 10,000 numbers per area code, 120,000 in all."""
    return f"+1{AREA_CODES[(n // 10000) % len(AREA_CODES)]}555{n % 10000:04d}"
