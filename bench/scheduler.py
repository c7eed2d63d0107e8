"""Publishing throughput and lateness of `greenlight worker` processes, against the floor of a
plain loop of webhook POSTs to the same receiver, in the same run.

    .venv/bin/python bench/scheduler.py [--posts 10000] [--workers 2] [--floor-workers 1]

`--posts` approved posts (created through the engine: Submit + Approve, a fresh workspace, one
`webhook` target) are due at the same moment, t0; `--workers` real `greenlight worker`
processes publish them to a local receiver (`bench/webhook_sink.py`: asyncio, its own process,
checks each signature and records each Idempotency-Key with its arrival time).

How "due at t0" is arranged: the posts are created approved (due at once) while their workspace
is missing from `gl:workspaces`, the set the workers walk; the workers are started and have
logged "worker started"; at t0 the workspace is added to the set, so every post becomes visible
to them as due at the same moment. Lateness is arrival time minus t0; throughput is posts over
(last arrival - t0), and over (last arrival - first arrival).

The floor: the same publications (same body, signature and keys), sent by
`WebhookPublisher.publish`, the publisher the workers use, in a plain loop with no Redis and no
claims (the issue's floor); `--floor-workers N` runs N such loops in parallel processes, each
over its share, for a stricter comparison. Its "lateness" is arrival minus the moment the loops
were released.

Redis: a private `redis-server` on a free port (no persistence) unless `--redis URL` is given,
because workers walk every workspace in `gl:workspaces`, and a shared Redis holds those of
other runs. Slack calls go to the Slack emulator; the number the workers made is printed (no
cards exist, so it should be 0). Exits 1 if a post was published twice, or not at all.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.webhook_sink import Sink
from bot.publishers.webhook import WebhookPublisher
from bot.sandbox.emulator import SlackEmulator
from tests.redis_servers import RedisServer
from workflows import analytics
from workflows.commands import Approve, Submit
from workflows.configfile import parse_workflow_file
from workflows.directory import StaticDirectory
from workflows.engine import Engine
from workflows.models import PostState
from workflows.publishing import Publication
from workflows.store import WORKSPACES, Store

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-hook-secret"
SECRET_ENV = "BENCH_HOOK_SECRET"
TARGET = "hook"
WORKFLOW = """
approvals_channel: C0APPROVALS
targets:
  {target}: {{type: webhook, url: "{url}/hook", secret_env: {secret_env}}}
workflows:
  - name: quick
    targets: [{target}]
    steps:
      - {{name: Check, approvers: {{users: [U0ANNA]}}}}
"""
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Phase:
    """What the receiver saw in one phase, relative to that phase's start `t0`."""

    name: str
    expected: set[str]
    arrivals: list[tuple[str, float]]
    t0: float
    bad_signatures: int
    cpu: dict[str, float]

    @property
    def counts(self) -> Counter[str]:
        return Counter(key for key, _ in self.arrivals)

    @property
    def duplicates(self) -> int:
        return sum(n - 1 for n in self.counts.values() if n > 1)

    @property
    def missing(self) -> int:
        return len(self.expected - set(self.counts))

    @property
    def lateness(self) -> list[float]:
        """Seconds from t0 to each post's first arrival."""
        first: dict[str, float] = {}
        for key, at in self.arrivals:
            first.setdefault(key, at)
        return sorted(at - self.t0 for at in first.values())

    def rate_from_t0(self) -> float:
        return len(self.counts) / max(self.lateness[-1], 1e-9)

    def rate_first_to_last(self) -> float:
        times = self.lateness
        return (len(times) - 1) / max(times[-1] - times[0], 1e-9)


def percentile(sorted_values: list[float], fraction: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def redis_cpu(client: redis.Redis) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


# -- setup ------------------------------------------------------------------------------------


@contextmanager
def redis_for(url: str | None, directory: Path) -> Iterator[str]:
    if url:
        yield url
        return
    server = RedisServer(directory / "redis").start()
    try:
        yield server.url
    finally:
        server.stop()


def no_risk(text: str, targets: tuple[str, ...]) -> str:
    return "none"


def create_posts(client: redis.Redis, team: str, config_text: str, count: int) -> list[Publication]:
    """`count` approved posts, due at once; returns what the webhook publisher will send."""
    engine = Engine(client, team, parse_workflow_file(config_text), StaticDirectory(), no_risk)
    publications = []
    for n in range(count):
        post = engine.execute(Submit("U0AUTHOR", f"Post {n} · città 🌸")).post
        approved = engine.execute(Approve("U0ANNA", post.id, 1, 0)).post
        assert approved.state == PostState.APPROVED, approved.state
        publications.append(Publication.of(team, approved, TARGET))
    # In production the drafts' cards went out and their submissions and approvals were counted
    # for the digest when they happened, long before the posts fall due: do both now, so the
    # burst measures publishing (and the notifying and counting that publishing itself causes).
    while entries := engine.store.unread_audit("bench-setup", count=1000):
        engine.store.ack_audit([e["id"] for e in entries])
    while analytics.ingest(engine.store, lambda post, revision: (), "bench-setup", count=1000):
        pass
    return publications


# -- the floor --------------------------------------------------------------------------------


def _floor_process(url: str, share: list[Publication], ready: Any, go: Any, cpu: Any) -> None:
    publisher = WebhookPublisher(TARGET, url, SECRET)
    ready.release()
    go.wait()
    start = time.process_time()
    for publication in share:
        publisher.publish(publication)
    cpu.put(time.process_time() - start)


def run_floor(sink: Sink, publications: list[Publication], processes: int, name: str) -> Phase:
    """The same publications POSTed by `WebhookPublisher.publish` in a plain loop."""
    sink.reset()
    context = multiprocessing.get_context("fork")
    ready, go, cpu = context.Semaphore(0), context.Event(), context.Queue()
    children = [
        context.Process(
            target=_floor_process,
            args=(sink.url + "/hook", publications[n::processes], ready, go, cpu),
        )
        for n in range(processes)
    ]
    for child in children:
        child.start()
    for _ in children:
        ready.acquire()
    sink_before = cpu_seconds(sink.pid)
    t0 = time.time()
    go.set()
    clients = sum(cpu.get(timeout=600) for _ in children)
    for child in children:
        child.join()
    report = sink.arrivals()
    used = {"clients": clients, "sink": cpu_seconds(sink.pid) - sink_before}
    expected = {p.idempotency_key for p in publications}
    arrivals = [(key, at) for key, at in report["arrivals"]]
    return Phase(name, expected, arrivals, t0, report["bad_signatures"], used)


# -- the workers ------------------------------------------------------------------------------


def worker_env(redis_url: str, config_path: Path, slack: SlackEmulator) -> dict[str, str]:
    return {
        **os.environ,
        "REDIS_URL": redis_url,
        "GREENLIGHT_CONFIG": str(config_path),
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": "unused-by-workers",
        "SLACK_API_URL": slack.api_url,
        SECRET_ENV: SECRET,
        "LOG_LEVEL": "info",  # for the "worker started" line
    }


def start_workers(
    env: dict[str, str], logs: Path, count: int, poll_seconds: float
) -> list[subprocess.Popen[bytes]]:
    command = [sys.executable, "-m", "bot.cli", "worker", "--poll-seconds", str(poll_seconds)]
    return [
        subprocess.Popen(
            command,
            env=env,
            cwd=ROOT,
            stdout=(logs / f"worker{n}.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        for n in range(count)
    ]


def wait_started(workers: list[subprocess.Popen[bytes]], logs: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for n, worker in enumerate(workers):
        log = logs / f"worker{n}.log"
        while b"worker started" not in log.read_bytes():
            if worker.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"worker {n} did not start:\n{log.read_text()}")
            time.sleep(0.05)


def wait_published(store: Store, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = store.redis.zcard(store.keys.state(PostState.PUBLISHED))
        if done >= count:
            return
        time.sleep(0.05)


def stop(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        worker.wait(timeout=60)


def run_workers(
    args: argparse.Namespace,
    client: redis.Redis,
    team: str,
    env: dict[str, str],
    sink: Sink,
    publications: list[Publication],
) -> Phase:
    """Workers started and idle; at t0 the workspace appears; wait until all are published."""
    sink.reset()
    client.srem(WORKSPACES, team)
    logs = Path(env["GREENLIGHT_CONFIG"]).parent
    workers = start_workers(env, logs, args.workers, args.poll_seconds)
    try:
        wait_started(workers, logs, timeout=60)
        time.sleep(max(0.5, 2 * args.poll_seconds))  # in their polling loop
        before = {"sink": cpu_seconds(sink.pid), "redis": redis_cpu(client)}
        before["workers"] = sum(cpu_seconds(w.pid) for w in workers)
        t0 = time.time()
        client.sadd(WORKSPACES, team)
        wait_published(Store(client, team), len(publications), args.timeout)
        cpu = {
            "workers": sum(cpu_seconds(w.pid) for w in workers) - before["workers"],
            "sink": cpu_seconds(sink.pid) - before["sink"],
            "redis": redis_cpu(client) - before["redis"],
        }
    finally:
        stop(workers)
    report = sink.arrivals()
    expected = {p.idempotency_key for p in publications}
    arrivals = [(key, at) for key, at in report["arrivals"]]
    return Phase("scheduler", expected, arrivals, t0, report["bad_signatures"], cpu)


# -- report -----------------------------------------------------------------------------------


def table_rows(phases: list[Phase]) -> list[tuple[str, ...]]:
    def row(name: str, cell: Any) -> tuple[str, ...]:
        return (name, *(cell(p) for p in phases))

    return [
        row("", lambda p: p.name),
        row("posts published", lambda p: f"{len(p.counts):,}"),
        row("posts not published", lambda p: f"{p.missing}"),
        row("duplicates", lambda p: f"{p.duplicates}"),
        row("bad signatures", lambda p: f"{p.bad_signatures}"),
        row("publishes/s, t0 to last", lambda p: f"{p.rate_from_t0():,.0f}"),
        row("publishes/s, first to last", lambda p: f"{p.rate_first_to_last():,.0f}"),
        row("first arrival after t0", lambda p: f"{p.lateness[0]:.3f} s"),
        row("lateness p50", lambda p: f"{percentile(p.lateness, 0.5):.3f} s"),
        row("lateness p99", lambda p: f"{percentile(p.lateness, 0.99):.3f} s"),
        row("lateness max", lambda p: f"{p.lateness[-1]:.3f} s"),
    ]


def print_table(posts: int, scheduler: Phase, floors: list[Phase]) -> None:
    rows = table_rows([scheduler, *floors])
    width = max(len(r[0]) for r in rows) + 2
    for name, *cells in rows:
        print(f"{name:<{width}}" + "".join(f"{cell:>24}" for cell in cells))
    floor_rate = statistics.mean(f.rate_from_t0() for f in floors)
    ratio = scheduler.rate_from_t0() / floor_rate
    print(
        f"scheduler / floor throughput (t0 to last; floor: mean of {len(floors)} runs "
        f"{floor_rate:,.0f}/s): {ratio:.2f}  (target >= 0.50)"
    )
    p99 = percentile(scheduler.lateness, 0.99)
    print(f"scheduler lateness p99: {p99:.3f} s  (target < 2 s)")
    for phase in (scheduler, *floors):
        shares = ", ".join(f"{k} {v / posts * 1e3:.2f} ms" for k, v in phase.cpu.items())
        print(f"CPU per post, {phase.name}: {shares}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--floor-workers", type=int, default=1, help="plain loops in parallel")
    parser.add_argument("--poll-seconds", type=float, default=0.1, help="workers' idle pause")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for all")
    parser.add_argument("--redis", default=None, help="default: a private redis-server")
    args = parser.parse_args()
    # Stopped with SIGTERM (`timeout`, a CI runner): exit normally, so the servers, workers
    # and receivers it started are stopped too instead of running on.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory() as tmp, redis_for(args.redis, Path(tmp)) as redis_url:
        sink = Sink(SECRET).start()
        try:
            with SlackEmulator() as slack:
                return run(args, Path(tmp), redis_url, sink, slack)
        finally:
            sink.stop()


def run(
    args: argparse.Namespace, tmp: Path, redis_url: str, sink: Sink, slack: SlackEmulator
) -> int:
    client = redis.Redis.from_url(redis_url)
    team = "TSCHED" + uuid.uuid4().hex[:8].upper()
    config_text = WORKFLOW.format(target=TARGET, url=sink.url, secret_env=SECRET_ENV)
    config_path = tmp / "workflow.yaml"
    config_path.write_text(config_text)
    started = time.perf_counter()
    publications = create_posts(client, team, config_text, args.posts)
    print(f"{args.posts:,} approved posts created in {time.perf_counter() - started:.1f} s")
    try:
        floors = [run_floor(sink, publications, args.floor_workers, "floor, before")]
        env = worker_env(redis_url, config_path, slack)
        scheduler = run_workers(args, client, team, env, sink, publications)
        floors.append(run_floor(sink, publications, args.floor_workers, "floor, after"))
        slack_calls = len(slack.calls())
    finally:
        client.srem(WORKSPACES, team)
        for key in client.scan_iter(match=f"gl:{{{team}}}:*", count=5000):
            client.delete(key)
    print(
        f"date {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, "
        f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    print(f"{args.workers} workers, {args.floor_workers} floor loops, {args.posts:,} posts")
    print_table(args.posts, scheduler, floors)
    print(f"Slack Web API calls by the workers: {slack_calls}")
    return 1 if scheduler.duplicates or scheduler.missing else 0


if __name__ == "__main__":
    sys.exit(main())
