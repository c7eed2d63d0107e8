"""`greenlight worker`: publishes due posts of every workspace and tells people what happened
(cards, DMs), from the audit log. Run as many as you like: they share the work through Redis
(claims for posts, a consumer group for the audit log). SIGTERM finishes the work in hand."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import redis
from slack_sdk import WebClient

from bot.app import slack_client
from bot.notify import Notifier
from bot.publishers import publisher_for
from bot.runtime import Greenlight
from bot.settings import Settings
from workflows.config import WorkflowFile
from workflows.engine import utc_now
from workflows.publishing import Publisher
from workflows.scheduler import Dispatcher
from workflows.store import WORKSPACES, Store

log = logging.getLogger(__name__)
#: Targets called at once by one worker (threads: the calls mostly wait on the network).
CALLS_IN_FLIGHT = 8

#: While a burst of due posts goes out (a pass claimed a full batch), the rest of a pass (card
#: updates and DMs, reminders, digests and their counting) waits, at most this long.
HOUSEKEEPING_DEFERRAL_SECONDS = 1.0
#: The pass that ends a deferral catches up with the passes deferred, but stops after this long
#: (the rest waits for the next one), so publishing keeps most of a worker's time in a burst.
HOUSEKEEPING_CATCH_UP_SECONDS = 0.05

#: Periodic work a worker does for one workspace on each pass (digests, reminders): given the
#: workspace's store, it does what is due and returns how much it did (0: nothing was due).
Job = Callable[[Store], int]
#: Tells people what a workspace's audit entries say happened; returns the ids of the entries
#: it could not tell because Slack was down, which stay pending and are handed out again after
#: `retry_seconds`, as long as it takes.
Notify = Callable[[str, list[dict[str, str]]], list[str]]


class Worker:
    def __init__(
        self,
        client: redis.Redis,
        config: WorkflowFile,
        publishers: Mapping[str, Publisher],
        *,
        clock: Callable[[], datetime] = utc_now,
        poll_seconds: float = 0.5,
        batch: int = 50,
        lease_seconds: float = 60.0,
        notify: Notify | None = None,
        jobs: Sequence[Job] = (),
        name: str = "worker",
        retry_seconds: float = 60.0,
        tell_attempts: int = 10,
    ) -> None:
        self.client = client
        self.config = config
        self.publishers = publishers
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.batch = batch
        self.lease_seconds = lease_seconds
        self.notify = notify
        self.jobs = tuple(jobs)
        self.name = name
        #: Audit entries not told while Slack was down, or left by a dead worker, go out again
        #: after this long; a batch whose notifying raised is tried `tell_attempts` times.
        self.retry_seconds = retry_seconds
        self.tell_attempts = tell_attempts
        self.stopping = threading.Event()
        self.calls = ThreadPoolExecutor(CALLS_IN_FLIGHT, thread_name_prefix="publish")
        self._dispatchers: dict[str, Dispatcher] = {}
        self._housekept: dict[str, float] = {}  # workspace: time.monotonic() of its last full pass
        self._deferred: dict[str, int] = {}  # workspace: passes whose housekeeping was deferred

    def tick(self) -> int:
        """One pass over every workspace; returns how much work it did (0: nothing was due)."""
        claimed = 0
        for raw in sorted(self.client.smembers(WORKSPACES)):
            if self.stopping.is_set():
                break
            team = raw.decode() if isinstance(raw, bytes) else raw
            dispatcher = self._dispatcher(team)
            store = dispatcher.store
            dispatcher.reap()
            taken = dispatcher.run_due(self.batch)
            claimed += taken
            if taken == self.batch and not self._housekeeping_overdue(team):
                self._deferred[team] = self._deferred.get(team, 0) + 1
                continue  # publishing first: more posts are due right now
            self._housekept[team] = time.monotonic()
            rounds = 1 + self._deferred.pop(team, 0)  # one per pass deferred
            until = time.monotonic() + HOUSEKEEPING_CATCH_UP_SECONDS
            tasks = [*([self._notify] if self.notify else []), *self.jobs]
            for _ in range(rounds):
                results = [(task, _guarded(task, store)) for task in tasks]
                claimed += sum(n for _, n in results)
                tasks = [task for task, n in results if n]  # again only what still had work
                if not tasks or time.monotonic() > until:
                    break
            store.trim_audit(self.clock())
        return claimed

    def _notify(self, store: Store) -> int:
        """Notify what the audit log says happened; returns how many entries were handled."""
        assert self.notify is not None
        # A published post leaves two or three entries: keep up with one pass's publishing.
        entries = store.unread_audit(
            self.name, count=3 * self.batch, reclaim_after_ms=int(self.retry_seconds * 1000)
        )
        if not entries:
            return 0
        try:  # the ids returned were not told because Slack is down: they wait for it
            failed = set(self.notify(store.team, entries))
        except redis.RedisError:
            raise
        except Exception:  # a bug: the batch is tried again, but not for ever
            log.exception("notifying workspace %s failed", store.team)
            failed = {e["id"] for e in entries}
            for entry_id, tries in store.audit_deliveries(sorted(failed)).items():
                if tries >= self.tell_attempts:
                    log.error("gave up telling audit entry %s after %d attempts", entry_id, tries)
                    failed.discard(entry_id)
        store.ack_audit([e["id"] for e in entries if e["id"] not in failed])
        return len(entries)

    def _housekeeping_overdue(self, team: str) -> bool:
        last = self._housekept.setdefault(team, time.monotonic())
        return time.monotonic() - last >= HOUSEKEEPING_DEFERRAL_SECONDS

    def _dispatcher(self, team: str) -> Dispatcher:
        if team not in self._dispatchers:
            store = Store(self.client, team, retention_days=self.config.retention_days)
            self._dispatchers[team] = Dispatcher(
                store,
                self.config,
                self.publishers,
                self.clock,
                lease_seconds=self.lease_seconds,
                executor=self.calls,
                lanes=CALLS_IN_FLIGHT,
            )
        return self._dispatchers[team]

    def run(self) -> None:
        log.info("worker started")
        while not self.stopping.is_set():
            try:
                busy = self.tick()
            except redis.RedisError as exc:  # Redis restarting: wait and carry on
                log.warning("Redis unavailable (%s); retrying", exc)
                busy = 0
            if not busy:
                self.stopping.wait(self.poll_seconds)
        self.calls.shutdown()
        log.info("worker stopped")

    def stop_on_signals(self) -> None:
        """SIGTERM/SIGINT: finish the posts in hand (their claims), then leave the loop.

        The handler runs in the main thread between two bytecodes, possibly while that thread
        holds `stopping`'s own lock (it just woke from a wait); `set` needs that lock, so a
        thread of its own sets it, or the worker would wait for itself for ever."""

        def stop(*_: object) -> None:
            threading.Thread(target=self.stopping.set, name="stop").start()

        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, stop)


def _guarded(task: Callable[[Store], int], store: Store) -> int:
    """One housekeeping task of a pass; a failure other than Redis's (Slack unreachable, a bug)
    is logged and the pass goes on: it must not stop publishing, nor the worker."""
    try:
        return task(store)
    except redis.RedisError:
        raise  # `run` waits for Redis to come back
    except Exception:
        log.exception("%s failed for workspace %s", getattr(task, "__name__", task), store.team)
        return 0


def build_publishers(config: WorkflowFile, settings: Settings) -> dict[str, Publisher]:
    """One publisher per target of the workflow file (`MissingSecret` names what is missing).
    Slack targets publish through a copy of the bot's client without retry handlers
    (`publishers.slack.publishing_client`): the scheduler decides when to retry."""
    return {
        name: publisher_for(name, target, os.environ, lambda: slack_client(settings))
        for name, target in config.targets.items()
    }


def notifier(gl: Greenlight, client: WebClient) -> Notify:
    """Turns audit entries into cards, DMs and thread replies (see `bot.notify`)."""

    def notify(team: str, entries: list[dict[str, str]]) -> list[str]:
        return Notifier(gl, gl.engine(team, client), client).handle(entries)

    return notify
