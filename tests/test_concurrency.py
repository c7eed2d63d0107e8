"""Clicks at the same moment: a step advances once, whoever and however many click."""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter

import redis

from tests.conftest import keyword_risk
from workflows.commands import Approve, Submit
from workflows.configfile import parse_workflow_file
from workflows.directory import StaticDirectory
from workflows.engine import Engine
from workflows.outcomes import Accepted, Refusal

APPROVERS = [f"U0{n:03d}" for n in range(60)]

CROWD_YAML = f"""
approvals_channel: C0APPROVALS
targets: {{site: {{type: slack, channel: C0SITE}}}}
workflows:
  - name: crowd
    targets: [site]
    steps:
      - name: Anyone of many
        approvers: {{users: [{", ".join(APPROVERS)}]}}
        quorum: 1
      - name: Final
        approvers: {{users: [U0FINAL]}}
"""


def crowd_engine(client: redis.Redis, team: str) -> Engine:
    config = parse_workflow_file(CROWD_YAML, "crowd.yaml")
    return Engine(client, team, config, StaticDirectory(), keyword_risk)


def click_all_at_once(engine: Engine, commands: list[Approve]) -> list[object]:
    barrier = threading.Barrier(len(commands))
    results: list[object] = [None] * len(commands)

    def click(i: int) -> None:
        barrier.wait()
        results[i] = engine.execute(commands[i])

    threads = [threading.Thread(target=click, args=(i,)) for i in range(len(commands))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def kinds(results: list[object]) -> Counter[str]:
    return Counter(
        "accepted" if isinstance(r, Accepted) else r.code.value  # type: ignore[union-attr]
        for r in results
    )


def test_fifty_threads_on_a_one_of_n_step_advance_it_once(client, team):
    engine = crowd_engine(client, team)
    post_id = engine.execute(Submit("U0AUTHOR", "Launch day")).post.id
    results = click_all_at_once(engine, [Approve(actor, post_id, 1, 0) for actor in APPROVERS[:50]])
    assert kinds(results) == {"accepted": 1, "already_decided": 49}
    post = engine.post(post_id)
    assert post.current_step == 1 and len(post.steps[0].votes) == 1
    assert [e["action"] for e in engine.store.history(post_id)] == ["submit", "approve"]
    loser = next(r for r in results if isinstance(r, Refusal))
    winner = post.steps[0].votes[0].actor
    assert winner in loser.message


def test_same_approver_double_clicking_decides_once(client, team):
    engine = crowd_engine(client, team)
    post_id = engine.execute(Submit("U0AUTHOR", "Launch day")).post.id
    results = click_all_at_once(engine, [Approve("U0007", post_id, 1, 0)] * 10)
    assert kinds(results) == {"accepted": 1, "already_decided": 9}
    assert len(engine.store.history(post_id)) == 2


def _process_clicker(url: str, team: str, post_id: str, actors: list[str], barrier, queue) -> None:
    client = redis.Redis.from_url(url)
    engine = crowd_engine(client, team)
    barrier.wait()
    results = click_all_at_once(engine, [Approve(a, post_id, 1, 0) for a in actors])
    queue.put(dict(kinds(results)))


def test_four_processes_of_threads_advance_the_step_once(client, team, redis_url):
    engine = crowd_engine(client, team)
    post_id = engine.execute(Submit("U0AUTHOR", "Launch day")).post.id
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(4)
    queue = context.Queue()
    processes = [
        context.Process(
            target=_process_clicker,
            args=(redis_url, team, post_id, APPROVERS[i * 15 : (i + 1) * 15], barrier, queue),
        )
        for i in range(4)
    ]
    for process in processes:
        process.start()
    totals: Counter[str] = Counter()
    for _ in processes:
        totals.update(queue.get(timeout=60))
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    assert totals == {"accepted": 1, "already_decided": 59}
    assert [e["action"] for e in engine.store.history(post_id)] == ["submit", "approve"]
    assert engine.post(post_id).current_step == 1
