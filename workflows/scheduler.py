"""Publishing due posts, exactly as approved, at most once per target.

A worker claims due posts (a lease and a fencing token, `claim.lua`), records the attempt for
each target *before* calling it, and records the outcome after. If a worker dies mid-call, its
lease expires and `reap` decides: targets that take an idempotency key are retried (the retry
cannot duplicate); the others become `outcome_unknown` for a human to check, because guessing
could publish twice. A target that got the call but never answered (`UnknownOutcome`) is
`outcome_unknown` at once, for the same reason. A freeze is checked atomically with the
recording of the attempt, so no call starts after a freeze was written.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

import redis

from workflows.config import WorkflowFile
from workflows.models import Delivery, DeliveryStatus, Post, PostState
from workflows.outcomes import Event
from workflows.publishing import (
    PermanentFailure,
    Publication,
    Published,
    Publisher,
    TemporaryFailure,
    UnknownOutcome,
)
from workflows.reminders import GREENLIGHT  # the audit log's actor for workers
from workflows.rules import blackout_at, overall_state
from workflows.store import Claim, Committed, Conflict, Frozen, Store

log = logging.getLogger(__name__)
#: Waits between attempts after temporary failures (or longer, when the target says so).
BACKOFF_SECONDS = (10, 60, 300, 900)
#: While Redis does not answer, how often a worker tries again to record what its calls did.
RECORD_RETRY_SECONDS = 0.5
#: An outcome is recorded over an attempt in flight, or over the "unknown" a reaper wrote when
#: it gave up on this worker (which then turns out to have finished the call after all).
_RECORDABLE = (DeliveryStatus.ATTEMPTING, DeliveryStatus.OUTCOME_UNKNOWN)
#: What one call to a target did.
Outcome = Published | PermanentFailure | TemporaryFailure | UnknownOutcome
_T = TypeVar("_T")


@dataclass
class _Job:
    """One claimed post on its way out: the post as this worker last committed it (None once
    the claim was taken over) and the targets still to call, in order."""

    post_id: str
    token: int
    post: Post | None
    targets: list[str]


class Dispatcher:
    """Publishes the due posts of one workspace.

    A batch moves in steps, each one Redis round trip for the whole batch: claim the posts
    (which reads them), record every attempt, call the targets (concurrently when an `executor`
    is given), record every outcome, release the claims. Each record is still one atomic,
    version-checked transition of one post; a conflict falls back to reading that post again."""

    def __init__(
        self,
        store: Store,
        config: WorkflowFile,
        publishers: Mapping[str, Publisher],
        clock: Callable[[], datetime],
        *,
        lease_seconds: float = 60.0,
        max_attempts: int = 5,
        executor: Executor | None = None,
        lanes: int = 8,
    ) -> None:
        self.store = store
        self.config = config
        self.publishers = publishers
        self.clock = clock
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        self.executor = executor
        self.lanes = lanes

    def run_due(self, limit: int = 20) -> int:
        """Claim and publish up to `limit` due posts; returns how many were claimed."""
        claimed_at, began = self.clock(), time.monotonic()
        claims = self.store.claim_due(claimed_at, limit, self.lease_seconds)
        if not claims:
            return 0
        jobs = self._when_redis_answers(
            "the attempts",
            partial(self._start_all, claims),
            began,
            again=partial(self._start_each, claims),
        )
        while jobs:  # one target of every post per round: a post's calls stay in order
            calls = [(job, job.targets.pop(0)) for job in jobs]
            outcomes = self._map(lambda call: self._call(*call, claimed_at), calls)
            done = [(job, t, o) for (job, t), o in zip(calls, outcomes, strict=True)]
            self._when_redis_answers("the outcomes", partial(self._record_all, done), began)
            jobs = [job for job in jobs if job.post is not None and job.targets]
        # Only once everything went through: after an error (Redis, a script, an interrupted
        # call) the claims stay until their leases expire, and `reap` settles each post, from
        # the attempt it finds recorded, or by putting it back among the due ones.
        self.store.release_many(claims)
        return len(claims)

    def _map(self, function: Callable[[Any], _T], items: list[Any]) -> list[_T]:
        """`function` of each item, results in order. With an executor the items are dealt out
        to `lanes` threads, each calling its share one after the other: a future per lane, not
        per call, because the futures of fast targets cost more CPU than the calls."""
        if self.executor is None or len(items) < 2:
            return [function(item) for item in items]
        lanes = max(1, min(self.lanes, len(items)))
        results: list[Any] = [None] * len(items)
        shares = [items[n::lanes] for n in range(lanes)]
        for n, done in enumerate(
            self.executor.map(lambda share: list(map(function, share)), shares)
        ):
            results[n::lanes] = done
        return results

    # -- recording the attempts --------------------------------------------------------------

    def _start_all(self, claims: list[Claim]) -> list[_Job]:
        """Record the attempts of a claimed batch (holding what a blackout or freeze covers);
        returns the posts to call."""
        now = self.clock()
        planned: list[tuple[_Job, Post, Post, Event]] = []
        for post_id, token, post in claims:
            plan = self._plan_start(post, token, now) if post else None
            if post is None or plan is None:
                continue
            new, event, targets = plan
            planned.append((_Job(post_id, token, new, targets), post, new, event))
        results = self.store.commit_many(
            [(old, new, event, tuple(job.targets)) for job, old, new, event in planned]
        )
        jobs = []
        for (job, *_), result in zip(planned, results, strict=True):
            if isinstance(result, Committed):
                jobs.append(job)
            elif isinstance(result, Frozen):
                self._hold_frozen(job.post_id)
            elif started := self._start(job.post_id, job.token):  # changed since it was read
                jobs.append(started)
        return jobs

    def _start_each(self, claims: list[Claim]) -> list[_Job]:
        """`_start_all` one post at a time, each read again: after Redis lost the reply to a
        batch, some of it may be written (`_start` finds it)."""
        return [job for post_id, token, _ in claims if (job := self._start(post_id, token))]

    def _plan_start(
        self, post: Post, token: int, now: datetime
    ) -> tuple[Post, Event, list[str]] | None:
        """The attempt to record: the post with its ready targets `attempting`, and those
        targets; None when nothing is to be called (a blackout holds the post)."""
        if post.state not in (PostState.APPROVED, PostState.SCHEDULED):
            return None  # cancelled, held or published since it became due
        targets = [
            d.target
            for d in post.deliveries
            if d.status == DeliveryStatus.PENDING
            and (d.next_attempt_at is None or d.next_attempt_at <= now)
        ]
        if not targets:
            return None
        blackout = blackout_at(self.config, now, targets)
        if blackout:
            self.hold(post.id, f"due inside a blackout window: {blackout}")
            return None
        new = post.clone()
        for delivery in new.deliveries:
            if delivery.target in targets:
                delivery.status, delivery.token = DeliveryStatus.ATTEMPTING, token
                delivery.attempts += 1
                delivery.next_attempt_at, delivery.updated_at = None, now
        new.state, new.updated_at = PostState.PUBLISHING, now
        event = _event(post, new, "publish_started", now, target=", ".join(targets))
        return new, event, targets

    def _start(self, post_id: str, token: int) -> _Job | None:
        """Record the attempt of one post (or hold it when frozen), reading it again after a
        conflict; returns the post as committed and the targets to call (None: nothing to
        call)."""
        while True:
            post = self.store.get(post_id)
            if post is not None and (started := _attempting(post, token)):
                return _Job(post_id, token, post, started)  # written before a reply was lost
            plan = self._plan_start(post, token, self.clock()) if post else None
            if post is None or plan is None:
                return None
            new, event, targets = plan
            result = self.store.commit(post, new, event, starts_publishing=tuple(targets))
            if isinstance(result, Committed):
                return _Job(post_id, token, new, targets)
            if isinstance(result, Frozen):
                self._hold_frozen(post_id)
                return None

    def _hold_frozen(self, post_id: str) -> None:
        freeze = self.store.freeze_state() or {}
        by, why = freeze.get("by", "?"), freeze.get("reason", "")
        self.hold(post_id, f"publishing was frozen by {by}: {why}")

    def hold(self, post_id: str, why: str) -> None:
        """A freeze or blackout covers the post: it waits in `held` until a human decides
        (publish now, reschedule or cancel); it never fires by itself afterwards."""
        while True:
            post = self.store.get(post_id)
            if post is None or post.state not in (PostState.APPROVED, PostState.SCHEDULED):
                return
            now = self.clock()
            new = post.clone()
            new.state, new.updated_at, new.closing_reason = PostState.HELD, now, why
            event = _event(post, new, "hold", now, reason=new.closing_reason)
            if not isinstance(self.store.commit(post, new, event), Conflict):
                return

    # -- calling a target --------------------------------------------------------------------

    def _call(self, job: _Job, target: str, claimed_at: datetime) -> Outcome | None:
        """Call one target (on an executor thread); None when the claim was taken over, in
        which case the target is not called at all."""
        post = job.post
        assert post is not None
        if self.clock() - claimed_at > timedelta(seconds=self.lease_seconds / 2):
            # Long enough for the lease to be in doubt: only call if the attempt is still ours.
            try:
                fresh = self.store.get(post.id)
            except Exception:  # Redis unreachable: unsure, so no call (the reaper decides)
                log.exception(
                    "cannot check claim %s on %s: %s not called", job.token, post.id, target
                )
                job.post = None
                return None
            delivery = _delivery(fresh, target) if fresh else None
            if (
                fresh is None
                or delivery is None
                or delivery.token != job.token
                or (delivery.status != DeliveryStatus.ATTEMPTING)
            ):
                log.warning(
                    "claim %s on %s was taken over: %s not called", job.token, post.id, target
                )
                job.post = None  # fencing: never call the target after that
                return None
            job.post = post = fresh
        publisher = self.publishers.get(target)
        if publisher is None:
            return PermanentFailure(f"no publisher for target {target!r}: see the workflow file")
        try:
            return publisher.publish(Publication.of(self.store.team, post, target))
        except (PermanentFailure, TemporaryFailure, UnknownOutcome) as failure:
            return failure
        except Exception as exc:
            log.exception("publisher %s failed on post %s", target, post.id)
            return TemporaryFailure(f"unexpected error: {exc!r}")

    # -- recording the outcomes --------------------------------------------------------------

    def _when_redis_answers(
        self,
        what: str,
        work: Callable[[], _T],
        began: float,
        again: Callable[[], _T] | None = None,
    ) -> _T:
        """`work` (recording `what`), tried again (`again`, if given) while Redis does not
        answer (restarting, failing over) for up to half the lease: what the calls did is known
        only here, and a write whose reply was lost is found written when tried again (`_start`,
        `_record`). Past that the claims are in doubt, and the reaper settles them as after a
        crash ("outcome unknown" where the target is not idempotent)."""
        attempt = work
        while True:
            try:
                return attempt()
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                if time.monotonic() - began > self.lease_seconds / 2:
                    raise
                log.warning("Redis does not answer (%s); recording %s again", exc, what)
                time.sleep(RECORD_RETRY_SECONDS)
                attempt = again or work

    def _record_all(self, done: list[tuple[_Job, str, Outcome | None]]) -> None:
        """Write what each call did, in one round trip; a post changed meanwhile is read again
        (`_record`). Sets each job's post to the post as now stored (None: taken over)."""
        planned: list[tuple[_Job, str, Outcome, Post, Post, Event]] = []
        for job, target, outcome in done:
            if job.post is None or outcome is None:
                continue
            if _recorded(job.post, job.token, target, outcome):
                continue  # written by an earlier try of this batch
            change = self._outcome_change(job.post, job.token, target, outcome)
            if change is None:
                job.post = None
                continue
            planned.append((job, target, outcome, job.post, *change))
        results = self.store.commit_many(
            [(old, new, event, ()) for _, _, _, old, new, event in planned]
        )
        for (job, target, outcome, _, new, _), result in zip(planned, results, strict=True):
            if isinstance(result, Committed):
                job.post = new
            else:
                job.post = self._record(job.post_id, job.token, target, outcome)

    def _record(self, post_id: str, token: int, target: str, outcome: Outcome) -> Post | None:
        """Write one call's outcome over the post as stored now, until no one else changes it
        in between; returns the post as committed (None when the claim was taken over)."""
        while True:
            post = self.store.get(post_id)
            if post is not None and _recorded(post, token, target, outcome):
                return post  # written before Redis's reply was lost (the call was tried again)
            change = self._outcome_change(post, token, target, outcome) if post else None
            if post is None or change is None:
                return None
            new, event = change
            if isinstance(self.store.commit(post, new, event), Committed):
                return new

    def _outcome_change(
        self, post: Post, token: int, target: str, outcome: Outcome
    ) -> tuple[Post, Event] | None:
        """The post with the call's outcome written, and its audit event; None when the attempt
        is no longer ours (fencing: the outcome is dropped, it was taken over)."""
        now = self.clock()
        delivery = _delivery(post, target)
        if delivery is None or delivery.token != token or (delivery.status not in _RECORDABLE):
            log.warning(
                "attempt %s on %s/%s was taken over; outcome dropped", token, post.id, target
            )
            return None
        new = post.clone()
        changed = _delivery(new, target)
        assert changed is not None
        changed.updated_at = now
        if isinstance(outcome, Published):
            changed.status = DeliveryStatus.PUBLISHED
            changed.remote_id, changed.permalink, changed.error = (
                outcome.remote_id,
                outcome.permalink,
                None,
            )
            action, reason = "published", outcome.permalink or outcome.remote_id
        elif isinstance(outcome, UnknownOutcome):
            changed.status, changed.error = DeliveryStatus.OUTCOME_UNKNOWN, outcome.message
            action, reason = "publish_unknown", outcome.message
        elif isinstance(outcome, PermanentFailure) or changed.attempts >= self.max_attempts:
            changed.status = DeliveryStatus.FAILED
            changed.error = outcome.message
            if isinstance(outcome, TemporaryFailure):
                changed.error = f"gave up after {changed.attempts} attempts: {outcome.message}"
            action, reason = "publish_failed", changed.error
        else:
            wait = BACKOFF_SECONDS[min(changed.attempts, len(BACKOFF_SECONDS)) - 1]
            wait = max(wait, outcome.retry_after or 0)
            changed.status, changed.next_attempt_at = (
                DeliveryStatus.PENDING,
                now + timedelta(seconds=wait),
            )
            changed.error = outcome.message
            action, reason = "publish_retry", f"{outcome.message} (next try in {wait:.0f} s)"
        # A post cancelled meanwhile (after a reaper took the call for dead) stays cancelled:
        # the outcome is written, and nothing else goes out.
        new.state = post.state if post.finished else overall_state(new)
        new.updated_at = now
        return new, _event(post, new, action, now, reason=reason, target=target)

    # -- after a crash --------------------------------------------------------------------

    def reap(self) -> int:
        """Deal with claims whose worker died; returns how many were handled."""
        expired = self.store.expired_leases(self.clock())
        for post_id in expired:
            token = self.store.lease_token(post_id)
            if token is not None:
                self._recover(post_id, token)
                self.store.release(post_id, token)
        return len(expired)

    def _recover(self, post_id: str, token: int) -> None:
        while True:
            now = self.clock()
            post = self.store.get(post_id)
            if post is None:
                return
            interrupted = _attempting(post, token)
            if not interrupted:
                if post.state in (PostState.APPROVED, PostState.SCHEDULED):
                    self.store.requeue(post_id, now)  # the claim died before starting
                return
            new = post.clone()
            for delivery in new.deliveries:
                if delivery.status != DeliveryStatus.ATTEMPTING or delivery.token != token:
                    continue
                delivery.updated_at = now
                publisher = self.publishers.get(delivery.target)
                if publisher is not None and publisher.idempotent:
                    delivery.status, delivery.next_attempt_at = DeliveryStatus.PENDING, now
                    delivery.token = None  # the retry gets a new claim and token
                else:
                    delivery.status = DeliveryStatus.OUTCOME_UNKNOWN
                    delivery.error = (
                        "the worker stopped during the call: check the target before "
                        "marking it published or retrying"
                    )
            new.state, new.updated_at = overall_state(new), now
            targets = ", ".join(interrupted)
            event = _event(post, new, "publish_interrupted", now, target=targets)
            if isinstance(self.store.commit(post, new, event), Committed):
                return


def _attempting(post: Post, token: int) -> list[str]:
    """The targets whose attempt under claim `token` is written and not yet called back."""
    return [
        d.target
        for d in post.deliveries
        if d.status == DeliveryStatus.ATTEMPTING and d.token == token
    ]


def _recorded(post: Post, token: int, target: str, outcome: Outcome) -> bool:
    """Whether the `outcome` of attempt `token` on `target` is written already: the delivery
    still carries that token (another claim would have put its own) and is past attempting;
    an "outcome unknown" only when it is this outcome's, not the guess of a reaper that took
    the attempt for dead while the call went on (the call's own outcome replaces that)."""
    delivery = _delivery(post, target)
    if delivery is None or delivery.token != token:
        return False
    if delivery.status == DeliveryStatus.OUTCOME_UNKNOWN:
        return isinstance(outcome, UnknownOutcome) and delivery.error == outcome.message
    return delivery.status not in _RECORDABLE


def _delivery(post: Post, target: str) -> Delivery | None:
    return next((d for d in post.deliveries if d.target == target), None)


def _event(
    old: Post,
    new: Post,
    action: str,
    now: datetime,
    *,
    reason: str | None = None,
    target: str | None = None,
) -> Event:
    return Event(
        action=action,
        post_id=new.id,
        revision=new.revision.number,
        actor=GREENLIGHT,
        at=now,
        from_state=old.state.value,
        to_state=new.state.value,
        reason=reason,
        target=target,
    )


def freeze_publishing(
    store: Store,
    actor: str,
    reason: str,
    now: datetime,
    targets: tuple[str, ...] = (),
    *,
    wait_seconds: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
) -> list[str]:
    """Freeze publishing to `targets` (none: all), then wait for the calls already in flight
    in that scope to finish, so that nothing in scope is published once this returns.

    Returns the posts still being published when `wait_seconds` ran out (their worker is
    stuck or dead: their lease expiry will mark them for a human)."""
    store.set_freeze(actor, reason, now, targets)
    waited = 0.0
    while True:
        busy = [
            post.id
            for post in store.get_many(store.ids_by_state(PostState.PUBLISHING, limit=1000))
            if any(
                d.status == DeliveryStatus.ATTEMPTING and (not targets or d.target in targets)
                for d in post.deliveries
            )
        ]
        if not busy or waited >= wait_seconds:
            return busy
        sleep(0.1)
        waited += 0.1


def unfreeze_publishing(store: Store, config: WorkflowFile, actor: str, now: datetime) -> int:
    """End the freeze. Posts in its scope whose time came during the freeze are held (not
    fired): a human chooses publish now, reschedule or cancel. Returns how many were held."""
    freeze = store.freeze_state()
    if freeze is None:
        return 0
    scope = set(json.loads(freeze.get("targets") or "[]"))
    dispatcher = Dispatcher(store, config, {}, lambda: now)
    held = 0
    # Before the freeze is lifted: what is due, and what a worker claimed but has not started
    # (its start is refused while the freeze stands, or finds the post held).
    candidates = dict.fromkeys([*store.ids_due(now, limit=10_000), *store.ids_claimed()])
    for post in store.get_many(list(candidates)):
        due = post.revision.scheduled_at or post.updated_at
        if due <= now and (not scope or scope & set(post.revision.targets)):
            dispatcher.hold(post.id, f"was due while publishing was frozen: {freeze['reason']}")
            held += 1
    store.clear_freeze(actor, now)
    return held
