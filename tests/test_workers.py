"""Real `greenlight worker` processes against a real Redis: several at once, one killed with
SIGKILL mid-publish, and Redis itself restarted (AOF) mid-run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter

import pytest
import redis

from bot.sandbox.emulator import SlackEmulator
from tests.conftest import keyword_risk
from tests.publishers.fakes import WebhookReceiver
from tests.redis_servers import RedisServer
from workflows.commands import Approve, ResolveDelivery, Submit
from workflows.configfile import parse_workflow_file
from workflows.directory import StaticDirectory
from workflows.engine import Engine
from workflows.models import DeliveryStatus, PostState
from workflows.outcomes import Accepted
from workflows.scheduler import freeze_publishing, unfreeze_publishing
from workflows.store import NOTIFIERS, WORKSPACES, Store

SECRET = "hook-secret"
WORKFLOW = """
approvals_channel: C0APPROVALS
targets:
  hook: {{type: webhook, url: "{url}/hook", secret_env: HOOK_SECRET}}
  news: {{type: slack, channel: C0NEWS}}
  slow: {{type: slack, channel: C0SLOW, timeout_seconds: 0.5}}
workflows:
  - name: quick
    targets: [hook]
    steps:
      - {{name: Check, approvers: {{users: [U0ANNA]}}}}
"""


@pytest.fixture(scope="module")
def redis_url(own_redis_url: str) -> str:
    return own_redis_url  # these tests run worker processes


@pytest.fixture
def world(tmp_path, redis_url):
    receiver = WebhookReceiver(SECRET)
    with SlackEmulator() as slack, receiver.server as server:
        slack.add_channel("C0NEWS", "news")
        slack.add_channel("C0SLOW", "slow")
        slack.add_user("U0AUTHOR")
        text = WORKFLOW.format(url=server.url)
        path = tmp_path / "workflow.yaml"
        path.write_text(text)
        yield {
            "slack": slack,
            "receiver": receiver,
            "config_text": text,
            "config_path": path,
            "tmp": tmp_path,
        }


def start_workers(world, redis_url: str, count: int, *extra: str) -> list[subprocess.Popen]:
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "GREENLIGHT_CONFIG": str(world["config_path"]),
        "SLACK_BOT_TOKEN": world["slack"].bot_token,
        "SLACK_SIGNING_SECRET": "unused-by-workers",
        "SLACK_API_URL": world["slack"].api_url,
        "HOOK_SECRET": SECRET,
        "LOG_LEVEL": "warning",
    }
    logs = world["tmp"]
    return [
        subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "worker", "--poll-seconds", "0.05", *extra],
            env=env,
            stdout=(logs / f"worker{n}.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        for n in range(count)
    ]


def approved_posts(client, team, config_text, count, targets=("hook",)) -> list[str]:
    config = parse_workflow_file(config_text, "workflow.yaml")
    engine = Engine(client, team, config, StaticDirectory(), keyword_risk)
    ids = []
    for n in range(count):
        post = engine.execute(Submit("U0AUTHOR", f"Post {n} · città 🌸", targets=targets)).post
        engine.execute(Approve("U0ANNA", post.id, 1, 0))
        ids.append(post.id)
    return ids


def wait_for(check, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {check}")
        time.sleep(0.1)
    return value


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        assert process.wait(timeout=30) in (0, -signal.SIGKILL)


def test_three_workers_publish_a_thousand_posts_exactly_once(world, client, team, redis_url):
    ids = approved_posts(client, team, world["config_text"], 1000)
    workers = start_workers(world, redis_url, 3)
    try:
        engine_store = Engine(
            client, team, parse_workflow_file(world["config_text"]), StaticDirectory(), keyword_risk
        ).store
        wait_for(lambda: len(engine_store.ids_by_state(PostState.PUBLISHED, 2000)) == 1000)
    finally:
        stop(workers)
    receiver = world["receiver"]
    keys = [f"gl-{team}-{post_id}-r1-hook" for post_id in ids]
    assert Counter(receiver.arrivals) == Counter(keys)  # every post once, none twice
    assert {p["text"] for p in receiver.stored.values()} == {
        f"Post {n} · città 🌸" for n in range(1000)
    }
    client.srem(WORKSPACES, team)


def test_a_worker_killed_mid_publish_leaves_outcome_unknown_and_no_duplicate(
    world, client, team, redis_url
):
    slack = world["slack"]
    slack.delay("chat.postMessage", 3.0)  # the call is in flight when the worker dies
    (slow,) = approved_posts(client, team, world["config_text"], 1, targets=("news",))
    victim = start_workers(world, redis_url, 1, "--lease-seconds", "2")
    engine = Engine(
        client, team, parse_workflow_file(world["config_text"]), StaticDirectory(), keyword_risk
    )
    wait_for(lambda: engine.post(slow).state == PostState.PUBLISHING, 30)
    time.sleep(0.5)
    victim[0].send_signal(signal.SIGKILL)
    victim[0].wait(timeout=10)
    slack.clear_faults()  # Slack answers at its usual speed again (the call in flight sleeps on)
    rest = approved_posts(client, team, world["config_text"], 20)
    survivor = start_workers(world, redis_url, 1, "--lease-seconds", "2")
    try:
        wait_for(lambda: engine.post(slow).state == PostState.OUTCOME_UNKNOWN, 60)
        wait_for(lambda: all(engine.post(i).state == PostState.PUBLISHED for i in rest), 60)
    finally:
        stop(survivor)
    time.sleep(3)  # let the emulator finish the delayed call the dead worker had sent
    posted = [m for m in slack.messages("C0NEWS") if m.text.startswith("Post 0")]
    assert len(posted) <= 1  # never twice; a human checks whether it went out
    delivery = engine.post(slow).deliveries[0]
    assert (
        delivery.status == DeliveryStatus.OUTCOME_UNKNOWN and "check the target" in delivery.error
    )
    history = [e["action"] for e in engine.store.history(slow)]
    assert history[-1] == "publish_interrupted"
    client.srem(WORKSPACES, team)


def test_a_slack_post_sent_but_never_answered_asks_a_human_and_is_not_sent_twice(
    world, client, team, redis_url
):
    slack = world["slack"]
    slack.delay("chat.postMessage", 1.5)  # Slack posts it, but answers after the 0.5 s timeout
    (post_id,) = approved_posts(client, team, world["config_text"], 1, targets=("slow",))
    engine = Engine(
        client, team, parse_workflow_file(world["config_text"]), StaticDirectory(), keyword_risk
    )
    workers = start_workers(world, redis_url, 1)
    try:
        wait_for(lambda: engine.post(post_id).state == PostState.OUTCOME_UNKNOWN, 30)
        told = wait_for(
            lambda: [
                m.text
                for m in slack.messages("U0AUTHOR")
                if f"Draft #{post_id} to slow :grey_question: may or may not have gone out"
                in m.text
            ],
            60,
        )
        assert "check the channel, then mark it published or retry" in told[0]
        slack.clear_faults()
        time.sleep(2)  # workers keep polling: nothing sends it again by itself
    finally:
        stop(workers)
    posted = [m for m in slack.messages("C0SLOW") if m.text.startswith("Post 0")]
    assert len(posted) == 1  # it did go out, once: a retry would have doubled it
    (delivery,) = engine.post(post_id).deliveries
    assert delivery.status == DeliveryStatus.OUTCOME_UNKNOWN and delivery.attempts == 1
    assert engine.store.history(post_id)[-1]["action"] == "publish_unknown"
    # A human looked at the channel and says it went out.
    settled = engine.execute(ResolveDelivery("U0AUTHOR", post_id, 1, "slow", "published"))
    assert isinstance(settled, Accepted) and engine.post(post_id).state == PostState.PUBLISHED
    client.srem(WORKSPACES, team)


def test_slack_hanging_while_the_worker_tells_people_holds_back_no_due_post(
    world, client, team, redis_url
):
    """Slack stops answering (every Web API call hangs, longer than its client's timeout) while
    the worker tells people about a post it published: the next approved post still goes out at
    once, because telling people and publishing run side by side. (They ran in turn before: the
    next post waited for the hung call, its client's timeout and retries, 30 s and more.)"""
    slack, receiver = world["slack"], world["receiver"]
    slack.delay("*", 60)
    (first,) = approved_posts(client, team, world["config_text"], 1)
    workers = start_workers(world, redis_url, 1)
    try:
        wait_for(lambda: len(receiver.arrivals) == 1, 60)
        wait_for(slack.held_calls, 30)  # the worker waits for Slack, telling people about it
        (second,) = approved_posts(client, team, world["config_text"], 1)
        wait_for(lambda: len(receiver.arrivals) == 2, 20)
        assert slack.held_calls()  # Slack has not answered yet
    finally:
        slack.clear_faults()  # Slack answers again, the hung call too
        stop(workers)
    assert receiver.arrivals == [f"gl-{team}-{first}-r1-hook", f"gl-{team}-{second}-r1-hook"]
    client.srem(WORKSPACES, team)


def started(client: redis.Redis, store: Store, workers: list[subprocess.Popen]) -> bool:
    """Every worker has read the workspace's audit stream (as a `notifiers` consumer named
    after its process): it is past its start-up checks, which refuse to start without Redis."""
    try:
        consumers = client.xinfo_consumers(store.keys.audit, NOTIFIERS)
    except redis.ResponseError:  # no group yet
        return False
    names = [c["name"].decode() for c in consumers]
    return all(any(name.endswith(f"-{w.pid}") for name in names) for w in workers)


def test_redis_restarting_mid_run_loses_no_approved_post(world, tmp_path):
    server = RedisServer(tmp_path / "redis", "--appendonly", "yes", "--appendfsync", "always")
    server.start()
    client = redis.Redis.from_url(server.url)
    team = "T" + uuid.uuid4().hex[:10].upper()
    world["receiver"].latency = 0.2  # 16 POSTs in flight: about 80 posts a second
    try:
        ids = approved_posts(client, team, world["config_text"], 300)
        # A batch cut short by the restart waits for its leases: short ones keep the test short.
        workers = start_workers(world, server.url, 2, "--lease-seconds", "5")
        store = Engine(
            client, team, parse_workflow_file(world["config_text"]), StaticDirectory(), keyword_risk
        ).store
        # Both running (a worker still starting when Redis stops exits, as it should: this
        # test once failed so), and publishing under way: 300 posts take about 4 s.
        wait_for(lambda: started(client, store, workers), 60)
        wait_for(lambda: len(world["receiver"].arrivals) >= 60, 60)
        server.stop()  # SIGTERM: Redis stops; its AOF keeps every committed transition
        time.sleep(1)
        server.start()  # same port, same directory: the workers reconnect

        def all_published() -> bool:
            try:
                return len(store.ids_by_state(PostState.PUBLISHED, 1000)) == 300
            except redis.BusyLoadingError:  # Redis is still reading its AOF back
                return False

        wait_for(all_published, 120)
        stop(workers)
    finally:
        server.stop()
    keys = {f"gl-{team}-{post_id}-r1-hook" for post_id in ids}
    assert set(world["receiver"].stored) == keys  # every approved post went out
    assert set(world["receiver"].arrivals) == keys  # and nothing else


def test_redis_down_when_a_call_returns_costs_no_outcome(world, tmp_path):
    """Redis stops while a worker's post to Slack (not idempotent) is in flight, and is back
    seconds after it returned: the worker records what the call did once Redis answers, so
    the post is published, once, and not left for a human to check. (The outcome was lost:
    after the lease the post was "outcome unknown" although its message had gone out.)"""
    server = RedisServer(tmp_path / "redis", "--appendonly", "yes", "--appendfsync", "always")
    server.start()
    client = redis.Redis.from_url(server.url)
    team = "T" + uuid.uuid4().hex[:10].upper()
    slack = world["slack"]
    slack.delay("chat.postMessage", 1.0)
    try:
        (post_id,) = approved_posts(client, team, world["config_text"], 1, targets=("news",))
        workers = start_workers(world, server.url, 1, "--lease-seconds", "20")
        store = Engine(
            client, team, parse_workflow_file(world["config_text"]), StaticDirectory(), keyword_risk
        ).store
        wait_for(lambda: post_id in store.ids_by_state(PostState.PUBLISHING, 10), 60)
        time.sleep(0.3)  # the call is on its way to Slack
        server.stop()
        time.sleep(4)  # it returns while Redis is down
        server.start()

        def settled() -> PostState | None:
            try:
                post = store.get(post_id)
            except redis.BusyLoadingError:  # Redis is still reading its AOF back
                return None
            return None if post is None or post.state == PostState.PUBLISHING else post.state

        assert wait_for(settled, 60) == PostState.PUBLISHED
        stop(workers)
    finally:
        server.stop()
    assert [m.text for m in slack.messages("C0NEWS")] == ["Post 0 · città 🌸"]


def test_a_freeze_during_a_burst_stops_everything_in_scope(world, client, team, redis_url):
    receiver = world["receiver"]
    receiver.latency = 0.05  # a slow integration: each post takes a while
    ids = approved_posts(client, team, world["config_text"], 200)
    workers = start_workers(world, redis_url, 2)
    engine = Engine(
        client, team, parse_workflow_file(world["config_text"]), StaticDirectory(), keyword_risk
    )
    try:
        wait_for(lambda: len(receiver.arrivals) >= 20, 60)
        stuck = freeze_publishing(engine.store, "U0ADMIN", "Breaking news", engine.clock())
        assert stuck == []
        sent_at_freeze = len(receiver.arrivals)
        time.sleep(2)
        assert len(receiver.arrivals) == sent_at_freeze  # nothing after the freeze returned
        unfreeze_publishing(engine.store, engine.config, "U0ADMIN", engine.clock())
        time.sleep(1.5)
        assert len(receiver.arrivals) == sent_at_freeze  # held posts wait for a human
        posts = engine.store.get_many(ids)
        states = Counter(p.state for p in posts)
        assert states == {PostState.PUBLISHED: sent_at_freeze, PostState.HELD: 200 - sent_at_freeze}
    finally:
        stop(workers)
    client.srem(WORKSPACES, team)


def test_sigterm_arriving_as_the_worker_wakes_from_a_wait_stops_it(redis_url):
    """A signal handled while the main thread holds the lock of the worker's `stopping` event
    (it happens when SIGTERM lands just as a wait times out) must still stop the worker. The
    handler used to set the event itself, and so waited for a lock its own thread held: the
    worker hung until killed (seen as a deploy that never finished). Run in a process of its
    own, since the failure is a hang."""
    program = f"""
import signal, threading, redis
from bot.worker import Worker
from workflows.configfile import parse_workflow_file
config = parse_workflow_file('''{WORKFLOW.format(url="http://127.0.0.1:9")}''', "w.yaml")
worker = Worker(redis.Redis.from_url("{redis_url}"), config, {{}}, name="w")
worker.stop_on_signals()
with worker.stopping._cond:  # where a wait leaves the main thread when it times out
    signal.raise_signal(signal.SIGTERM)
worker.run()  # returns once both loops have seen the signal
print("stopped")
"""
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=30
    )
    assert done.stdout.strip() == "stopped", done.stderr
