"""bench/scheduler.py runs end to end with tiny numbers: real worker processes publish every post
once. No timing is checked here; the figures belong in docs/benchmarks.md."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench.ack import process_tree

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


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_bench_stopped_with_sigterm_stops_what_it_started() -> None:
    """`timeout` stops a bench with SIGTERM: its worker processes, receiver and private Redis
    must not run on (they would take later runs' posts and audit entries)."""
    bench = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "scheduler.py"), "--posts", "3000"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 120
        started: list[int] = []
        while not any("bot.cli worker" in _command_line(pid) for pid in started):
            assert bench.poll() is None and time.monotonic() < deadline, "no worker started"
            time.sleep(0.2)
            started = [pid for pid in process_tree(bench.pid) if pid != bench.pid]
        assert any("redis-server" in _command_line(pid) for pid in started)
        os.kill(bench.pid, signal.SIGTERM)
        assert bench.wait(timeout=60) == 143
        deadline = time.monotonic() + 10
        while (left := [pid for pid in started if _alive(pid)]) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not left, [_command_line(pid) for pid in left]
    finally:
        if bench.poll() is None:
            bench.kill()
