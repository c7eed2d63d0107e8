"""Publishing due posts, exactly as approved, at most once per target.

A worker claims due posts (a lease and a fencing token, `claim.lua`), records the attempt for
each target *before* calling it, and records the outcome after. If a worker dies mid-call, its
lease expires and `reap` decides: targets that take an idempotency key are retried (the retry
cannot duplicate); the others become `outcome_unknown` for a human to check, because guessing
could publish twice. A freeze is checked atomically with the recording of the attempt, so no
call starts after a freeze was written.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from workflows.config import WorkflowFile
from workflows.models import Delivery, DeliveryStatus, Post, PostState
from workflows.outcomes import Event
from workflows.publishing import (
    PermanentFailure,
    Publication,
    Published,
    Publisher,
    TemporaryFailure,
)
from workflows.rules import blackout_at, overall_state
from workflows.store import Committed, Conflict, Frozen, Store

log = logging.getLogger(__name__)
ACTOR = "greenlight"  # the audit log's actor for what the scheduler does
#: Waits between attempts after temporary failures (or longer, when the target says so).
BACKOFF_SECONDS = (10, 60, 300, 900)
#: An outcome is recorded over an attempt in flight, or over the "unknown" a reaper wrote when
#: it gave up on this worker (which then turns out to have finished the call after all).
_RECORDABLE = (DeliveryStatus.ATTEMPTING, DeliveryStatus.OUTCOME_UNKNOWN)


class Dispatcher:
    """Publishes the due posts of one workspace."""

    def __init__(
        self,
        store: Store,
        config: WorkflowFile,
        publishers: Mapping[str, Publisher],
        clock: Callable[[], datetime],
        *,
        lease_seconds: float = 60.0,
        max_attempts: int = 5,
    ) -> None:
        self.store = store
        self.config = config
        self.publishers = publishers
        self.clock = clock
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts

    def run_due(self, limit: int = 20) -> int:
        """Claim and publish up to `limit` due posts; returns how many were claimed."""
        claimed_at = self.clock()
        claims = self.store.claim_due(claimed_at, limit, self.lease_seconds)
        for post_id, token in claims:
            try:
                post, targets = self._start(post_id, token)
                for target in targets:
                    if post is None:
                        break
                    post = self._deliver(post, token, target, claimed_at)
            finally:
                self.store.release(post_id, token)
        return len(claims)

    # -- one post -------------------------------------------------------------------------

    def _start(self, post_id: str, token: int) -> tuple[Post | None, list[str]]:
        """Record the attempt (or hold the post when frozen); returns the post as committed
        and the targets to call."""
        while True:
            now = self.clock()
            post = self.store.get(post_id)
            if post is None or post.state not in (PostState.APPROVED, PostState.SCHEDULED):
                return None, []  # cancelled, held or published since it became due
            ready = [
                d
                for d in post.deliveries
                if d.status == DeliveryStatus.PENDING
                and (d.next_attempt_at is None or d.next_attempt_at <= now)
            ]
            if not ready:
                return None, []
            targets = [d.target for d in ready]
            blackout = blackout_at(self.config, now, targets)
            if blackout:
                self.hold(post_id, f"due inside a blackout window: {blackout}")
                return None, []
            new = post.clone()
            for delivery in new.deliveries:
                if delivery.target in targets:
                    delivery.status, delivery.token = DeliveryStatus.ATTEMPTING, token
                    delivery.attempts += 1
                    delivery.next_attempt_at, delivery.updated_at = None, now
            new.state, new.updated_at = PostState.PUBLISHING, now
            event = _event(post, new, "publish_started", now, target=", ".join(targets))
            result = self.store.commit(post, new, event, starts_publishing=tuple(targets))
            if isinstance(result, Committed):
                return new, targets
            if isinstance(result, Frozen):
                freeze = self.store.freeze_state() or {}
                by, why = freeze.get("by", "?"), freeze.get("reason", "")
                self.hold(post_id, f"publishing was frozen by {by}: {why}")
                return None, []

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

    def _deliver(self, post: Post, token: int, target: str, claimed_at: datetime) -> Post | None:
        """Call one target and record the outcome; returns the post as now stored (None when
        the claim was taken over)."""
        if self.clock() - claimed_at > timedelta(seconds=self.lease_seconds / 2):
            # Long enough for the lease to be in doubt: only call if the attempt is still ours.
            fresh = self.store.get(post.id)
            delivery = _delivery(fresh, target) if fresh else None
            if (
                fresh is None
                or delivery is None
                or delivery.token != token
                or (delivery.status != DeliveryStatus.ATTEMPTING)
            ):
                return None  # taken over (fencing): never call the target after that
            post = fresh
        publisher = self.publishers.get(target)
        outcome: Published | PermanentFailure | TemporaryFailure
        if publisher is None:
            outcome = PermanentFailure(f"no publisher for target {target!r}: see the workflow file")
        else:
            try:
                outcome = publisher.publish(Publication.of(self.store.team, post, target))
            except (PermanentFailure, TemporaryFailure) as failure:
                outcome = failure
            except Exception as exc:
                log.exception("publisher %s failed on post %s", target, post.id)
                outcome = TemporaryFailure(f"unexpected error: {exc!r}")
        return self._record(post, token, target, outcome)

    def _record(
        self,
        known: Post,
        token: int,
        target: str,
        outcome: Published | PermanentFailure | TemporaryFailure,
    ) -> Post | None:
        """Write what the call did, unless the attempt was taken over (fencing). `known` is the
        post as this worker last wrote it: read again only when someone else changed it."""
        post: Post | None = known
        while True:
            now = self.clock()
            delivery = _delivery(post, target) if post else None
            if (
                post is None
                or delivery is None
                or delivery.token != token
                or (delivery.status not in _RECORDABLE)
            ):
                log.warning(
                    "attempt %s on %s/%s was taken over; outcome dropped", token, known.id, target
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
            new.state, new.updated_at = overall_state(new), now
            event = _event(post, new, action, now, reason=reason, target=target)
            if isinstance(self.store.commit(post, new, event), Committed):
                return new
            post = self.store.get(known.id)

    def _commit(
        self, old: Post, new: Post, event: Event, starts_publishing: tuple[str, ...] = ()
    ) -> Committed | Conflict | Frozen:
        result = self.store.commit(old, new, event, starts_publishing=starts_publishing)
        if isinstance(result, Committed) and self.on_change:
            try:
                self.on_change(new, event)
            except Exception:
                log.exception("on_change failed for post %s", new.id)
        return result  # type: ignore[return-value]

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
            interrupted = [
                d
                for d in post.deliveries
                if d.status == DeliveryStatus.ATTEMPTING and d.token == token
            ]
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
            targets = ", ".join(d.target for d in interrupted)
            event = _event(post, new, "publish_interrupted", now, target=targets)
            if isinstance(self.store.commit(post, new, event), Committed):
                return


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
        actor=ACTOR,
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
