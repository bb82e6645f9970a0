"""Benchmarks (see docs/performance.md). Each script runs on its own: `python bench/<name>.py [--json]`."""
