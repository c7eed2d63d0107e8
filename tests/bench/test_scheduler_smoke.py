"""bench/scheduler.py runs end to end with tiny numbers: real worker processes publish every post
once. No timing is checked here; the figures belong in docs/benchmarks.md."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_scheduler_bench_publishes_every_post_once() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "scheduler.py"), "--posts", "50", "--timeout", "60"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    cells = [re.split(r"\s{2,}", line.strip()) for line in result.stdout.splitlines()]
    rows = {row[0]: row[1:] for row in cells}
    assert rows["posts published"] == ["50", "50", "50"], result.stdout
    assert rows["posts not published"] == ["0", "0", "0"], result.stdout
    assert rows["duplicates"] == ["0", "0", "0"], result.stdout
    assert rows["bad signatures"] == ["0", "0", "0"], result.stdout
    assert "Slack Web API calls by the workers: 0" in result.stdout
