"""Digest build time with 1,000 and with 100,000 stored posts (the same 50 shown), against
reading those 50 posts directly by key, in the same run.

    .venv/bin/python bench/digest.py [--small 1000] [--big 100000] [--rounds 200]

Each workspace holds the same 50 posts the digest shows (10 waiting for approval, 10 going out
in the next 24 hours, 10 published and 5 rejected and 5 sent back since the last digest, 10
failed) plus, to make up its size, finished posts spread over the 80 days before the last
digest, with their audit entries counted into the day counters first. A build is what a worker
does to send a digest: `build_digest` (index reads, the 50 posts, the week's counters) and the
Block Kit. The baseline is one pipelined read of the 50 shown posts by key (`Store.get_many`).

Redis: a private `redis-server` on a free port (no persistence) unless `--redis URL` is given.
Target (issue 6): the big case within 2x of the small one, and under 50 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.views.digest import digest_blocks
from tests.redis_servers import RedisServer
from workflows import analytics
from workflows.configfile import parse_workflow_file
from workflows.digest import build_digest
from workflows.models import (
    Delivery,
    DeliveryStatus,
    Post,
    PostState,
    Revision,
    StepRun,
    StepStatus,
    Vote,
)
from workflows.outcomes import Event
from workflows.store import Store

CONFIG = parse_workflow_file(
    """
timezone: Europe/Rome
approvals_channel: C0APPROVALS
targets:
  site: {type: slack, channel: C0SITE}
workflows:
  - name: standard
    targets: [site]
    steps:
      - {name: Copy review, approvers: {users: [U0ANNA, U0LUCA]}}
      - {name: Brand, approvers: {users: [U0BRAND]}}
digest: {channel: C0SOCIAL, at: "09:00"}
""",
    "bench-digest.yaml",
)
NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
LAST_DIGEST = NOW - timedelta(days=1)
TEXT = "Our winter collection is here: warm, bright and made to last. #winter " * 2
REASONS = ["Off brand", "Wrong date", "Needs legal review", "Typo in the headline"]


def make_post(post_id: str, state: PostState, at: datetime, n: int) -> Post:
    """A post as the engine would have left it in `state`, changed last at `at`."""
    created = at - timedelta(hours=3)
    first = StepRun(
        name="Copy review",
        users=["U0ANNA", "U0LUCA"],
        usergroups=[],
        quorum=1,
        channel=None,
        status=StepStatus.ACTIVE,
        started_at=created,
    )
    second = StepRun(
        name="Brand",
        users=["U0BRAND"],
        usergroups=[],
        quorum=1,
        channel=None,
        status=StepStatus.WAITING,
    )
    revision = Revision(
        number=1, text=f"{n}: {TEXT}", targets=["site"], created_by="U0AUTHOR", created_at=created
    )
    post = Post(
        id=post_id,
        team="",
        author="U0AUTHOR",
        workflow="standard",
        state=state,
        revisions=[revision],
        steps=[first, second],
        created_at=created,
        updated_at=at,
    )
    if state == PostState.IN_REVIEW:
        return post
    vote_at = created + timedelta(minutes=20 + n % 90)
    if state in (PostState.REJECTED, PostState.DRAFT):
        verdict = "reject" if state == PostState.REJECTED else "request_changes"
        first.votes = [Vote(actor="U0LUCA", verdict=verdict, at=vote_at, reason=REASONS[n % 4])]
        first.status, first.decided_at = StepStatus.REJECTED, vote_at
        post.closing_reason = REASONS[n % 4] if state == PostState.REJECTED else None
        return post
    first.votes = [Vote(actor="U0ANNA", verdict="approve", at=vote_at)]
    first.status, first.decided_at = StepStatus.APPROVED, vote_at
    second.votes = [Vote(actor="U0BRAND", verdict="approve", at=vote_at + timedelta(hours=1))]
    second.status, second.decided_at = StepStatus.APPROVED, vote_at + timedelta(hours=1)
    status = {
        PostState.PUBLISHED: DeliveryStatus.PUBLISHED,
        PostState.FAILED: DeliveryStatus.FAILED,
    }.get(state, DeliveryStatus.PENDING)
    post.deliveries = [
        Delivery(
            target="site",
            status=status,
            permalink=f"https://example.test/{post_id}" if status == "published" else None,
            error="channel_not_found" if status == "failed" else None,
            updated_at=at,
        )
    ]
    if state == PostState.SCHEDULED:
        revision.scheduled_at = at
        post.updated_at = NOW - timedelta(hours=2)
    return post


def shown_posts() -> Iterator[tuple[PostState, datetime]]:
    """The 50 posts every workspace's digest shows."""
    for n in range(10):
        yield PostState.IN_REVIEW, NOW - timedelta(hours=30 - n)
        yield PostState.SCHEDULED, NOW + timedelta(hours=1 + n)
        yield PostState.PUBLISHED, LAST_DIGEST + timedelta(hours=1 + n)
        yield PostState.FAILED, NOW - timedelta(days=2, hours=n)
    for n in range(5):
        yield PostState.REJECTED, LAST_DIGEST + timedelta(hours=2 + n)
        yield PostState.DRAFT, LAST_DIGEST + timedelta(hours=3 + n)


def fill(store: Store, total: int) -> list[str]:
    """Store the 50 shown posts and `total - 50` older finished ones; count their audit."""
    states = list(shown_posts())
    span = timedelta(days=80).total_seconds()
    for n in range(total - len(states)):
        at = LAST_DIGEST - timedelta(seconds=span * (n + 1) / total)
        states.append((PostState.PUBLISHED if n % 5 else PostState.REJECTED, at))
    shown = []
    for n, (state, at) in enumerate(states):
        post = make_post(str(n + 1), state, at, n)
        post.team = store.team
        event = Event("bench", post.id, 1, "U0BRAND", at, "in_review", state.value)
        store.commit(None, post, event)
        if n < 50:
            shown.append(post.id)
    while analytics.ingest(store, lambda post, revision: ["claims"], "bench", count=1000):
        pass
    print(f"{store.team}: {total:,} posts stored and counted", flush=True)
    return shown


def timed(action: Callable[[], object], rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def build(store: Store) -> int:
    """Build the digest as a worker does before sending it; returns how many posts it shows."""
    data = build_digest(store, CONFIG, NOW, LAST_DIGEST, due_at=NOW)
    digest_blocks(data, "Greenlight digest")
    sections = (data.waiting, data.scheduled, data.published, data.needs_human)
    return sum(len(s.posts) for s in (*sections, data.rejected, data.changes_requested))


@contextmanager
def redis_for(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    with tempfile.TemporaryDirectory() as directory:
        server = RedisServer(Path(directory)).start()
        try:
            yield server.url
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--redis", default=None, help="default: a private redis-server")
    args = parser.parse_args()
    with redis_for(args.redis) as url:
        client = redis.Redis.from_url(url)
        stores, shown = {}, {}
        for size in (args.small, args.big):
            store = Store(client, f"TDIGEST{size}X{uuid.uuid4().hex[:6].upper()}")
            stores[size], shown[size] = store, fill(store, size)
            assert build(store) == 50, "the digest must show the same 50 posts"
        rows = {}
        for _ in range(2):  # interleave the cases so machine noise hits them alike
            for size, store in stores.items():
                rows.setdefault((size, "digest"), []).extend(
                    timed(lambda s=store: build(s), args.rounds // 2)
                )
                rows.setdefault((size, "read 50"), []).extend(
                    timed(lambda s=store, ids=shown[size]: s.get_many(ids), args.rounds // 2)
                )
        print(f"\n{'posts':>8} {'what':<8} {'median ms':>10} {'p99 ms':>8}")
        for (size, what), samples in rows.items():
            p99 = statistics.quantiles(samples, n=100)[98]
            print(f"{size:>8,} {what:<8} {statistics.median(samples):>10.2f} {p99:>8.2f}")
        small = statistics.median(rows[(args.small, "digest")])
        big = statistics.median(rows[(args.big, "digest")])
        base = statistics.median(rows[(args.big, "read 50")])
        print(
            f"\nbig/small: {big / small:.2f}x (target <= 2)   big: {big:.2f} ms (target < 50)"
            f"   big digest / reading its 50 posts: {big / base:.1f}x"
        )
        for store in stores.values():
            for key in client.scan_iter(match=f"gl:{{{store.team}}}:*", count=5000):
                client.delete(key)


if __name__ == "__main__":
    main()
