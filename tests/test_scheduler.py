"""Publishing due posts: exactly what was approved, at its time, once per target; freezes,
failures, retries and crashed workers handled as DESIGN.md's invariants 5 and 6 say."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import redis

from bot import worker as worker_module
from bot.worker import StopRequested, Worker
from tests.conftest import keyword_risk
from tests.redis_proxy import losing_proxy
from workflows.commands import Approve, Cancel, Reschedule, ResolveDelivery, Submit
from workflows.configfile import parse_workflow_file
from workflows.directory import StaticDirectory
from workflows.engine import Engine
from workflows.models import DeliveryStatus, PostState
from workflows.outcomes import Accepted, Refusal
from workflows.publishing import (
    PermanentFailure,
    Publication,
    Published,
    TemporaryFailure,
    UnknownOutcome,
)
from workflows.scheduler import Dispatcher
from workflows.store import Store

CONFIG = """
approvals_channel: C0APPROVALS
targets:
  site: {{type: slack, channel: C0SITE}}
  blog: {{type: slack, channel: C0BLOG}}
workflows:
  - name: quick
    targets: [site, blog]
    expiry: {expiry}
    steps:
      - {{name: Check, approvers: {{users: [U0ANNA]}}}}
"""


class FakeTarget:
    """Stands in for a social network: records what it received, deduplicates by key when it
    takes one, and fails on demand."""

    def __init__(self, idempotent: bool = True) -> None:
        self.idempotent = idempotent
        self.received: list[Publication] = []
        self.failures: list[Exception] = []
        self.during_call = None
        self.lock = threading.Lock()

    def publish(self, publication: Publication) -> Published:
        if self.during_call:
            self.during_call()
        with self.lock:
            if self.failures:
                raise self.failures.pop(0)
            if self.idempotent:
                for earlier in self.received:
                    if earlier.idempotency_key == publication.idempotency_key:
                        return Published(f"id-{publication.post_id}", None)
            self.received.append(publication)
        return Published(f"id-{publication.post_id}", f"https://example.test/{publication.post_id}")


def setup(client, team, clock, expiry="hold", idempotent=True):
    config = parse_workflow_file(CONFIG.format(expiry=expiry), "quick.yaml")
    engine = Engine(client, team, config, StaticDirectory(), keyword_risk, clock)
    targets = {"site": FakeTarget(idempotent), "blog": FakeTarget(idempotent)}
    return engine, targets, Dispatcher(engine.store, config, targets, clock, lease_seconds=30)


def approved(engine, text="Spring is here 🌸\n#primavera", **kw) -> str:
    post = engine.execute(Submit("U0AUTHOR", text, **kw)).post
    engine.execute(Approve("U0ANNA", post.id, 1, 0))
    return post.id


def test_approved_post_is_published_once_per_target_exactly_as_approved(client, team, clock):
    engine, targets, dispatcher = setup(client, team, clock)
    post_id = approved(engine)
    assert dispatcher.run_due() == 1
    assert dispatcher.run_due() == 0
    for target in targets.values():
        (publication,) = target.received
        assert publication.text == "Spring is here 🌸\n#primavera"
        assert publication.approvals[0]["actor"] == "U0ANNA"
    post = engine.post(post_id)
    assert post.state == PostState.PUBLISHED
    assert {d.permalink for d in post.deliveries} == {f"https://example.test/{post_id}"}
    actions = [e["action"] for e in engine.store.history(post_id)]
    assert actions == ["submit", "approve", "publish_started", "published", "published"]


def test_scheduled_post_waits_for_its_time(client, team, clock):
    engine, _, dispatcher = setup(client, team, clock)
    post_id = approved(engine, scheduled_at=clock() + timedelta(hours=2))
    assert engine.post(post_id).state == PostState.SCHEDULED
    assert dispatcher.run_due() == 0
    clock.advance(hours=2)
    assert dispatcher.run_due() == 1
    assert engine.post(post_id).state == PostState.PUBLISHED


def test_late_approval_follows_the_expiry_policy(client, team, clock):
    for expiry, state in (("hold", "held"), ("publish_late", "approved"), ("cancel", "cancelled")):
        engine, _, _ = setup(client, team, clock, expiry=expiry)
        post = engine.execute(
            Submit("U0AUTHOR", f"Late {expiry}", scheduled_at=clock() + timedelta(minutes=5))
        ).post
        clock.advance(minutes=10)
        engine.execute(Approve("U0ANNA", post.id, 1, 0))
        assert engine.post(post.id).state == state


def test_temporary_failures_retry_after_the_wait_permanent_ones_are_reported(client, team, clock):
    engine, targets, dispatcher = setup(client, team, clock)
    targets["site"].failures.append(TemporaryFailure("HTTP 429", retry_after=120))
    targets["blog"].failures.append(PermanentFailure("HTTP 422: text too long"))
    post_id = approved(engine)
    dispatcher.run_due()
    post = engine.post(post_id)
    site, blog = post.deliveries
    assert (site.status, blog.status) == (DeliveryStatus.PENDING, DeliveryStatus.FAILED)
    assert blog.error == "HTTP 422: text too long"
    assert site.next_attempt_at == clock() + timedelta(seconds=120)
    clock.advance(seconds=119)
    assert dispatcher.run_due() == 0
    clock.advance(seconds=1)
    assert dispatcher.run_due() == 1
    post = engine.post(post_id)
    assert post.deliveries[0].status == DeliveryStatus.PUBLISHED
    assert post.state == PostState.FAILED  # one target failed for good: a human must look
    assert len(targets["site"].received) == 1 and targets["blog"].received == []


def test_a_call_sent_but_never_answered_is_left_to_a_human_not_failed_or_retried(
    client, team, clock
):
    engine, targets, dispatcher = setup(client, team, clock, idempotent=False)
    targets["site"].failures.append(UnknownOutcome("no answer from site: check it"))
    post_id = approved(engine)
    dispatcher.run_due()
    post = engine.post(post_id)
    site, blog = post.deliveries
    assert (site.status, site.error) == (
        DeliveryStatus.OUTCOME_UNKNOWN,
        "no answer from site: check it",
    )
    assert blog.status == DeliveryStatus.PUBLISHED
    assert post.state == PostState.OUTCOME_UNKNOWN  # not failed: it may be out
    clock.advance(hours=1)
    assert dispatcher.run_due() == 0  # never retried by itself
    actions = [e["action"] for e in engine.store.history(post_id)]
    assert actions[-2:] == ["publish_unknown", "published"]


def test_nothing_in_a_frozen_scope_is_published(client, team, clock):
    engine, targets, dispatcher = setup(client, team, clock)
    engine.store.set_freeze("U0ADMIN", "Breaking news", clock(), targets=("site",))
    post_id = approved(engine)
    dispatcher.run_due()
    post = engine.post(post_id)
    assert post.state == PostState.HELD and "Breaking news" in post.closing_reason
    assert targets["site"].received == [] and targets["blog"].received == []
    engine.store.clear_freeze("U0ADMIN", clock())
    assert dispatcher.run_due() == 0  # held posts wait for a human, even after the freeze
    other = approved(engine, "Another one")
    engine.store.set_freeze("U0ADMIN", "Blog only", clock(), targets=("press",))
    dispatcher.run_due()
    assert engine.post(other).state == PostState.PUBLISHED


def test_a_worker_dying_mid_call_leaves_outcome_unknown_not_a_duplicate(client, team, clock):
    engine, targets, dispatcher = setup(client, team, clock, idempotent=False)
    post_id = approved(engine)
    rescuer = Dispatcher(engine.store, engine.config, targets, clock, lease_seconds=30)

    reaped = []

    def lease_runs_out_while_calling():
        targets["site"].during_call = None
        clock.advance(seconds=31)
        reaped.append(rescuer.reap())  # (an assert here would become a failed publish)

    targets["site"].during_call = lease_runs_out_while_calling
    # the first worker is "dead" from the rescuer's point of view while it is in the call
    dispatcher.run_due()
    assert reaped == [1]
    post = engine.post(post_id)
    # the slow worker did finish the site call and recorded it; blog was never attempted
    site, blog = post.deliveries
    assert site.status == DeliveryStatus.PUBLISHED
    assert blog.status == DeliveryStatus.OUTCOME_UNKNOWN
    assert post.state == PostState.OUTCOME_UNKNOWN
    assert targets["blog"].received == []  # never guessed, never sent twice
    assert rescuer.run_due() == 0


def test_a_late_outcome_does_not_undo_a_cancel_made_meanwhile(client, team, clock):
    """The site call hangs past the lease; the reaper marks it unknown and puts the blog
    (idempotent) back among the due posts; the author cancels the post. Then the site call
    returns: its outcome is written, and the post stays cancelled. (The outcome recomputed the
    post's state from its deliveries: the pending blog made it approved and due again, and the
    next pass published the cancelled post there.)"""
    engine, _, _ = setup(client, team, clock)
    targets = {"site": FakeTarget(idempotent=False), "blog": FakeTarget(idempotent=True)}
    dispatcher = Dispatcher(engine.store, engine.config, targets, clock, lease_seconds=30)
    rescuer = Dispatcher(engine.store, engine.config, targets, clock, lease_seconds=30)
    post_id = approved(engine)

    def lease_runs_out_and_the_author_cancels():
        targets["site"].during_call = None
        clock.advance(seconds=31)
        rescuer.reap()
        assert isinstance(engine.execute(Cancel("U0AUTHOR", post_id, 1, "wrong day")), Accepted)

    targets["site"].during_call = lease_runs_out_and_the_author_cancels
    dispatcher.run_due()
    post = engine.post(post_id)
    assert post.state == PostState.CANCELLED
    assert post.deliveries[0].status == DeliveryStatus.PUBLISHED  # what the site call did
    clock.advance(seconds=60)
    assert rescuer.run_due() == 0
    assert targets["blog"].received == []


def test_a_batch_cut_short_leaves_its_claims_for_the_reaper_not_stranded(client, team, clock):
    """An error escapes a batch (here the process is interrupted in a call): the claims are
    not released, so once their leases expire the reaper finds every post, retries what may
    have been called (idempotent targets) and requeues what was not started."""
    engine, targets, dispatcher = setup(client, team, clock)
    first, second = approved(engine, "one"), approved(engine, "two")

    def interrupted():
        targets["site"].during_call = None
        raise KeyboardInterrupt

    targets["site"].during_call = interrupted
    with pytest.raises(KeyboardInterrupt):
        dispatcher.run_due()
    assert {engine.post(p).state for p in (first, second)} == {PostState.PUBLISHING}
    clock.advance(seconds=31)  # past the 30 s lease
    assert dispatcher.reap() == 2
    while dispatcher.run_due():
        pass
    for post_id in (first, second):
        assert engine.post(post_id).state == PostState.PUBLISHED
    for target in targets.values():
        assert sorted(p.post_id for p in target.received) == sorted([first, second])


def test_an_idempotent_target_is_retried_after_a_crash_without_duplicates(client, team, clock):
    engine, targets, dispatcher = setup(client, team, clock, idempotent=True)
    post_id = approved(engine)
    rescuer = Dispatcher(engine.store, engine.config, targets, clock, lease_seconds=30)

    reaped = []

    def crash_window():
        targets["site"].during_call = None
        clock.advance(seconds=31)
        reaped.append(rescuer.reap())

    targets["site"].during_call = crash_window
    dispatcher.run_due()
    assert reaped == [1]  # the rescuer took the post over, and it is the one that finishes it
    assert rescuer.run_due() == 1
    post = engine.post(post_id)
    assert post.state == PostState.PUBLISHED
    assert [len(t.received) for t in targets.values()] == [1, 1]


def test_many_workers_publish_each_post_exactly_once(client, team, clock):
    engine, targets, _ = setup(client, team, clock)
    ids = [approved(engine, f"Post {n}") for n in range(150)]
    calls = ThreadPoolExecutor(4)  # two of the workers call their targets concurrently
    workers = [
        Dispatcher(engine.store, engine.config, targets, clock, executor=calls if n % 2 else None)
        for n in range(4)
    ]

    def work(dispatcher: Dispatcher) -> None:
        while dispatcher.run_due(limit=5):
            pass

    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    calls.shutdown()
    for target in targets.values():
        assert Counter(p.post_id for p in target.received) == Counter(ids)
    for post in engine.store.get_many(ids):  # each call's outcome went to its own post
        assert post.state == PostState.PUBLISHED
        assert {d.remote_id for d in post.deliveries} == {f"id-{post.id}"}


def test_a_burst_goes_out_before_the_card_updates_it_causes(client, team, clock, monkeypatch):
    """While a worker's passes claim full batches, notifying waits (at most
    HOUSEKEEPING_DEFERRAL_SECONDS, here made long): every entry is handed over once the burst
    is out, none is lost."""
    monkeypatch.setattr(worker_module, "HOUSEKEEPING_DEFERRAL_SECONDS", 3600)
    engine, targets, _ = setup(client, team, clock)
    ids = [approved(engine, f"Post {n}") for n in range(6)]
    while entries := engine.store.unread_audit("w"):  # the drafts' own cards went out earlier
        engine.store.ack_audit([e["id"] for e in entries])
    notified: list[tuple[int, list[dict[str, str]]]] = []  # (posts out by then, entries)

    def notify(
        notified_team: str, entries: list[dict[str, str]], stop_requested: StopRequested
    ) -> list[str]:
        if notified_team == team:
            notified.append((len(targets["site"].received), entries))
        return []

    worker = Worker(client, engine.config, targets, clock=clock, notify=notify, batch=2, name="w")
    while len(targets["site"].received) < 6:  # three full passes: their notifying waits
        worker.tick()
    assert notified == []
    worker.tick()  # nothing more is due: this pass catches up with the three deferred ones
    assert notified and all(out == 6 for out, _ in notified)
    entries = [e for _, batch in notified for e in batch]
    published = [e["post"] for e in entries if e["action"] == "published"]
    assert sorted(published) == sorted(ids * 2)  # each post, each of its two targets, once


BLACKOUT = """
blackouts:
  - {from: "2026-03-01T10:00:00+00:00", to: "2026-03-01T12:00:00+00:00", reason: Day of mourning}
"""


def test_blackouts_refuse_scheduling_and_hold_what_falls_due_inside(client, team, clock):
    config = parse_workflow_file(CONFIG.format(expiry="hold") + BLACKOUT, "quick.yaml")
    engine = Engine(client, team, config, StaticDirectory(), keyword_risk, clock)
    inside = clock().replace(hour=11)
    refusal = engine.execute(Submit("U0AUTHOR", "Sale!", scheduled_at=inside))
    assert isinstance(refusal, Refusal) and "Day of mourning" in refusal.message
    post_id = approved(engine)  # due now, at 09:00: before the window
    clock.advance(hours=1, minutes=30)  # the worker only gets to it inside the window
    targets = {"site": FakeTarget(), "blog": FakeTarget()}
    Dispatcher(engine.store, config, targets, clock).run_due()
    post = engine.post(post_id)
    assert post.state == PostState.HELD and "Day of mourning" in post.closing_reason
    assert targets["site"].received == []


def test_humans_release_held_posts_and_settle_unknown_outcomes(client, team, clock):
    engine, targets, dispatcher = setup(client, team, clock, idempotent=False)
    engine.store.set_freeze("U0ADMIN", "Crisis", clock())
    post_id = approved(engine)
    dispatcher.run_due()
    engine.store.clear_freeze("U0ADMIN", clock())
    refused = engine.execute(Reschedule("U0ANNA", post_id, 1, None))
    assert isinstance(refused, Refusal) and "Only the author" in refused.message
    assert isinstance(engine.execute(Reschedule("U0AUTHOR", post_id, 1, None)), Accepted)
    targets["blog"].failures.append(PermanentFailure("HTTP 401: bad token"))
    dispatcher.run_due()
    assert engine.post(post_id).state == PostState.FAILED
    assert isinstance(
        engine.execute(ResolveDelivery("U0AUTHOR", post_id, 1, "blog", "retry")), Accepted
    )
    dispatcher.run_due()
    assert engine.post(post_id).state == PostState.PUBLISHED
    assert [len(t.received) for t in targets.values()] == [1, 1]
    done = engine.execute(ResolveDelivery("U0AUTHOR", post_id, 1, "blog", "published"))
    assert isinstance(done, Refusal) and "published: nothing can change it" in done.message


@pytest.mark.parametrize(
    "lost",
    [b"\r\npublish_started\r\n", b"\r\npublished\r\n"],
    ids=["attempts recorded", "first outcome recorded"],
)
def test_a_write_whose_reply_redis_lost_is_found_written_and_publishing_goes_on(
    redis_url, team, clock, lost: bytes
):
    """Redis writes the attempts (or the first target's outcome) but the reply is lost (a
    failover, a cut connection): the worker writes it again, finds it written, and publishes
    to both targets once. (A lost outcome was taken for another worker's takeover and the post
    dropped: its second target was never called and it stayed publishing, nobody told. Lost
    attempts failed the pass; after the lease both targets became "outcome unknown" for a
    human to check, though neither had been called.)"""
    with losing_proxy(int(redis_url.rsplit(":", 1)[1].split("/")[0])) as proxy:
        client = redis.Redis.from_url(proxy.url)
        try:
            engine, targets, dispatcher = setup(client, team, clock, idempotent=False)
            first, second = approved(engine), approved(engine, "Summer is here ☀️")
            proxy.lose_reply_to(lost)  # an audit entry's action, as the batch script sends it
            assert dispatcher.run_due() == 2
            assert proxy.lost == 1
            for target in targets.values():
                assert sorted(p.post_id for p in target.received) == sorted([first, second])
            for post_id in (first, second):
                assert engine.post(post_id).state == PostState.PUBLISHED
                actions = [e["action"] for e in engine.store.history(post_id)]
                assert actions == ["submit", "approve", "publish_started"] + ["published"] * 2
        finally:
            client.close()


def test_an_unknown_outcome_whose_reply_redis_lost_is_written_once(redis_url, team, clock):
    """The call's outcome is unknown (sent, never answered) and Redis's reply to writing it
    is lost: written again it is found there, so people are asked to check once, not twice."""
    with losing_proxy(int(redis_url.rsplit(":", 1)[1].split("/")[0])) as proxy:
        client = redis.Redis.from_url(proxy.url)
        try:
            engine, targets, dispatcher = setup(client, team, clock, idempotent=False)
            post_id = approved(engine)
            targets["site"].failures.append(UnknownOutcome("no answer within 30 s"))
            proxy.lose_reply_to(b"\r\npublish_unknown\r\n")
            assert dispatcher.run_due() == 1
            assert proxy.lost == 1
            actions = [e["action"] for e in engine.store.history(post_id)]
            assert actions.count("publish_unknown") == 1 and actions.count("published") == 1
            assert engine.post(post_id).state == PostState.OUTCOME_UNKNOWN
        finally:
            client.close()


def test_a_redis_that_lost_its_scripts_still_takes_a_batch(client, team, clock):
    """After a Redis restart its script cache is empty: the batched attempt and outcome writes
    load the script and send the batch again, none of it having run."""
    engine, targets, dispatcher = setup(client, team, clock)
    post_ids = [approved(engine, f"Post {n}") for n in range(3)]
    client.script_flush()
    assert dispatcher.run_due() == 3
    for target in targets.values():
        assert sorted(p.post_id for p in target.received) == sorted(post_ids)
    assert {engine.post(p).state for p in post_ids} == {PostState.PUBLISHED}


def test_a_task_failing_on_every_pass_stops_neither_publishing_nor_the_worker(
    client, team, clock, caplog
):
    """A notifier or job that raises (a bug, say) is logged; the worker goes on publishing what
    is due, pass after pass. The notifier gets the entries again, `tell_attempts` times, not
    for ever."""
    engine, targets, _ = setup(client, team, clock)
    first = approved(engine, "Goes out while telling fails")
    told: list[str] = []

    def broken_job(store: Store, stop_requested: StopRequested) -> int:
        raise ValueError("a bug")

    def notify(
        notified_team: str, entries: list[dict[str, str]], stop_requested: StopRequested
    ) -> list[str]:
        told.extend(e["id"] for e in entries if notified_team == team)
        raise ValueError("a bug")

    worker = Worker(
        client,
        engine.config,
        targets,
        clock=clock,
        notify=notify,
        jobs=[broken_job],
        name="w",
        retry_seconds=0.05,
        tell_attempts=3,
    )
    worker.tick()
    second = approved(engine, "And so does the next one")
    for _ in range(6):
        time.sleep(0.06)
        worker.tick()
    assert sorted(p.post_id for p in targets["site"].received) == sorted([first, second])
    assert told and set(Counter(told).values()) == {3}  # each entry, three times
    # Logged once each, with the traceback, not on every pass they failed in.
    assert caplog.text.count(f"broken_job failed for workspace {team}") == 1
    assert caplog.text.count(f"notifying failed for workspace {team}") == 1
    assert "gave up telling audit entry" in caplog.text


def test_a_failing_task_logs_once_per_error_and_says_when_it_works_again(
    client, team, clock, caplog
):
    """A job failing on every pass (a bug, a setting) must not log a traceback twice a second:
    once per distinct error, and a line when it works again."""
    caplog.set_level(logging.INFO, logger="bot.worker")
    engine, targets, _ = setup(client, team, clock)
    errors = [ValueError("no such channel"), ValueError("no such channel"), None, KeyError("x")]

    def flaky_job(store: Store, stop_requested: StopRequested) -> int:
        error = errors.pop(0) if errors and store.team == team else None
        if error:
            raise error
        return 0

    approved(engine)  # the workspace has posts: a worker looks after it
    worker = Worker(client, engine.config, targets, clock=clock, jobs=[flaky_job], name="w")
    for _ in range(5):
        worker.tick()
    failures = [
        r for r in caplog.records if r.getMessage() == f"flaky_job failed for workspace {team}"
    ]
    assert [str(r.exc_info[1]) for r in failures] == ["no such channel", "'x'"]
    assert caplog.text.count(f"flaky_job works again for workspace {team}") == 2


def test_a_bug_outside_the_guarded_tasks_stops_the_whole_worker(client, team, clock):
    """Housekeeping failing outside its guarded tasks (a bug) must not leave a worker that
    publishes but never tells anyone: both loops stop and `run` raises, so the process exits
    and its supervisor starts a new one. (The housekeeping thread used to die alone.)"""
    engine, targets, _ = setup(client, team, clock)
    approved(engine)

    def clock_broken_for_housekeeping():
        if threading.current_thread().name == "housekeeping":
            raise ValueError("a bug")
        return clock()

    worker = Worker(
        client,
        engine.config,
        targets,
        clock=clock_broken_for_housekeeping,
        name="w",
        poll_seconds=0.01,
    )
    raised: list[BaseException] = []

    def run() -> None:
        try:
            worker.run()
        except Exception as exc:
            raised.append(exc)

    runner = threading.Thread(target=run, daemon=True)
    runner.start()
    runner.join(30)
    worker.stopping.set()  # should it still run, so that it ends
    assert not runner.is_alive() and raised
    assert "a worker loop failed" in str(raised[0])
