"""bench/digest.py runs end to end with tiny numbers: both workspaces' digests show the same 50
posts. No timing is checked here; the figures belong in docs/benchmarks.md."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_digest_bench_builds_both_digests(redis_url: str) -> None:
    result = subprocess.run(
        [
            *(sys.executable, str(ROOT / "bench" / "digest.py")),
            *("--small", "60", "--big", "300", "--rounds", "10", "--redis", redis_url),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line.split() for line in result.stdout.splitlines()]
    for size in ("60", "300"):
        assert [size, "digest"] in [row[:2] for row in rows], result.stdout
    assert "big/small:" in result.stdout
