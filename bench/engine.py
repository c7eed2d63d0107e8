"""Approvals per second and Redis round trips per command, against the floor of one SET per
command from the same client, in the same run.

    .venv/bin/python bench/engine.py [--posts 5000] [--redis redis://127.0.0.1:6379/0]

Each post runs the same two-step workflow; the measured command is the approval of its first
(1-of-3) step, which advances the post to step two: a read, the rules, and one script that
checks the version, writes the post, moves four index entries and appends two audit entries.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workflows.commands import Approve, Submit
from workflows.configfile import parse_workflow_file
from workflows.directory import StaticDirectory
from workflows.engine import Engine

CONFIG = parse_workflow_file(
    """
approvals_channel: C0APPROVALS
targets: {site: {type: slack, channel: C0SITE}}
workflows:
  - name: bench
    targets: [site]
    steps:
      - {name: Copy review, approvers: {users: [U0ANNA, U0LUCA, U0MARA]}, quorum: 1}
      - {name: Brand, approvers: {users: [U0BRAND]}}
""",
    "bench.yaml",
)


class CountingConnection(redis.Connection):
    """Counts requests written to Redis: one per command, one per pipeline or script call."""

    sent = 0

    def send_packed_command(self, command, check_health=True):
        CountingConnection.sent += 1
        return super().send_packed_command(command, check_health)


def _server_usec(client: redis.Redis) -> int:
    """Microseconds Redis has spent in the commands an approval sends (from INFO)."""
    stats = client.info("commandstats")
    return sum(stats.get(f"cmdstat_{c}", {}).get("usec", 0) for c in ("hmget", "evalsha", "eval"))


def no_risk(text: str, targets: tuple[str, ...]) -> str:
    return "none"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    pool = redis.ConnectionPool.from_url(args.redis, connection_class=CountingConnection)
    client = redis.Redis(connection_pool=pool)
    engine_rates, floor_rates, trips, server_us = [], [], [], []
    engine_cpu_us, floor_cpu_us = [], []
    submit_trips = 0.0
    for _ in range(args.rounds):
        team = "TBENCH" + uuid.uuid4().hex[:8].upper()
        engine = Engine(client, team, CONFIG, StaticDirectory(), no_risk)
        before = CountingConnection.sent
        ids = [
            engine.execute(Submit("U0AUTHOR", f"Post {i} 🌸")).post.id for i in range(args.posts)
        ]
        submit_trips = (CountingConnection.sent - before) / args.posts
        commands = [Approve("U0ANNA", post_id, 1, 0) for post_id in ids]

        before, start = CountingConnection.sent, time.perf_counter()
        server_before, cpu_before = _server_usec(client), time.process_time()
        for command in commands:
            engine.execute(command)
        elapsed = time.perf_counter() - start
        engine_cpu_us.append((time.process_time() - cpu_before) / args.posts * 1e6)
        server_us.append((_server_usec(client) - server_before) / args.posts)
        trips.append((CountingConnection.sent - before) / args.posts)
        engine_rates.append(args.posts / elapsed)

        floor_key = f"gl:{{{team}}}:floor"
        start, cpu_before = time.perf_counter(), time.process_time()
        for i in range(args.posts):
            client.set(floor_key, i)
        floor_rates.append(args.posts / (time.perf_counter() - start))
        floor_cpu_us.append((time.process_time() - cpu_before) / args.posts * 1e6)
        assert all(engine.post(i).current_step == 1 for i in ids[:10])
        for key in client.scan_iter(match=f"gl:{{{team}}}:*", count=5000):
            client.delete(key)

    engine_rate, floor_rate = statistics.median(engine_rates), statistics.median(floor_rates)
    print(f"posts per round: {args.posts}, rounds: {args.rounds} (medians shown)")
    print(
        f"approve: {engine_rate:,.0f} approvals/s, {statistics.median(trips):.2f} round trips each"
    )
    print(f"Redis server time per approve: {statistics.median(server_us):.0f} us")
    print(f"submit: {submit_trips:.2f} round trips each")
    print(f"floor (one SET per command): {floor_rate:,.0f} commands/s")
    print(
        f"client CPU (this process, user + system): {statistics.median(engine_cpu_us):.0f} us "
        f"per approve, {statistics.median(floor_cpu_us):.0f} us per floor SET"
    )
    print(f"approve / floor throughput ratio: {engine_rate / floor_rate:.2f}")


if __name__ == "__main__":
    main()
