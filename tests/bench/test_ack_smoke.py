"""bench/ack.py runs end to end with tiny numbers: both servers answer every request. No timing
is checked here; the figures belong in docs/benchmarks.md."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_ack_bench_runs_against_both_servers(own_redis_url: str) -> None:
    """Its worker walks every workspace in Redis: a Redis of its own keeps other runs out."""
    run_bench(own_redis_url)


def run_bench(redis_url: str) -> None:
    result = subprocess.run(
        [
            *(sys.executable, str(ROOT / "bench" / "ack.py")),
            *("--clients", "2", "--requests", "10", "--warmup", "2", "--settle", "0.2"),
            *("--workers", "1", "--threads", "4", "--redis", redis_url),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "REDIS_URL": redis_url},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line.split() for line in result.stdout.splitlines()]
    for kind in ("command", "approve"):
        for server in ("greenlight", "bare"):
            assert any(row[:3] == [kind, server, "10"] for row in rows), result.stdout
    assert "posts approved by the clicks: 12 of 12" in result.stdout
