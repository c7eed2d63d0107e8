"""`greenlight worker`: publishes due posts of every workspace and tells people what happened
(cards, DMs), from the audit log. Run as many as you like: they share the work through Redis
(claims for posts, a consumer group for the audit log). SIGTERM finishes the work in hand."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
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
#: A housekeeping task that keeps failing with the same error is logged again after this long.
FAILURE_REMINDER_SECONDS = 600.0

#: Whether the worker was told to stop (SIGTERM): work that makes many Slack calls asks it
#: between two of them and leaves the rest for a later pass, so a worker stops within a
#: platform's kill grace (30 s) instead of after a whole batch, and nobody is told twice.
StopRequested = Callable[[], bool]
#: Periodic work a worker does for one workspace on each pass (digests, reminders): given the
#: workspace's store, it does what is due and returns how much it did (0: nothing was due).
Job = Callable[[Store, StopRequested], int]
#: Tells people what a workspace's audit entries say happened; returns the ids of the entries
#: it did not tell (Slack was down, or the worker is stopping), which stay pending and are
#: handed out again after `retry_seconds`, as long as it takes. With no entries, it updates the
#: cards it could not update before because Slack was down.
Notify = Callable[[str, list[dict[str, str]], StopRequested], list[str]]


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
        self._signalled = False  # set by the signal handler, turned into `stopping` by the loops
        self._crashed = False  # a loop failed outside the guarded tasks: `run` raises
        self.calls = ThreadPoolExecutor(CALLS_IN_FLIGHT, thread_name_prefix="publish")
        self._stores: dict[str, Store] = {}  # one per workspace, for both halves
        self._dispatchers: dict[str, Dispatcher] = {}  # the publishing half's
        self._bursting: dict[str, bool] = {}  # workspace: its last publishing pass was full
        self._failing: dict[tuple[object, str], _Failure] = {}  # (task, workspace): failing
        self._stale_tried: dict[str, float] = {}  # workspace: last try of its stale cards
        self._housekept: dict[str, float] = {}  # workspace: time.monotonic() of its last full pass
        self._deferred: dict[str, int] = {}  # workspace: passes whose housekeeping was deferred

    def tick(self) -> int:
        """One pass over every workspace, publishing then housekeeping (what `run` does in two
        threads); returns how much work it did (0: nothing was due)."""
        return self.publish() + self.housekeep()

    def publish(self) -> int:
        """Publish what is due in every workspace; returns how many posts were claimed."""
        claimed = 0
        for team in self._teams():
            dispatcher = self._dispatcher(team)
            dispatcher.reap()
            taken = dispatcher.run_due(self.batch)
            self._bursting[team] = taken == self.batch
            claimed += taken
        return claimed

    def housekeep(self) -> int:
        """Tell people what happened (cards, DMs), run the jobs (digests, reminders) and trim
        the audit log, in every workspace; returns how much it did. While a workspace's last
        publishing pass claimed a full batch, its housekeeping waits (at most
        HOUSEKEEPING_DEFERRAL_SECONDS), then catches up with the passes it skipped."""
        done = 0
        for team in self._teams():
            if self._bursting.get(team) and not self._housekeeping_overdue(team):
                self._deferred[team] = self._deferred.get(team, 0) + 1
                continue  # publishing first: more posts are due right now
            self._housekept[team] = time.monotonic()
            store = self._store(team)
            rounds = 1 + self._deferred.pop(team, 0)  # one per pass deferred
            until = time.monotonic() + HOUSEKEEPING_CATCH_UP_SECONDS
            tasks = [*([self._notify] if self.notify else []), *self.jobs]
            for _ in range(rounds):
                results = []
                for task in tasks:
                    if self._stop_requested():  # the task in hand ends, no new one starts
                        return done
                    results.append((task, self._guarded(task, store)))
                done += sum(n for _, n in results)
                tasks = [task for task, n in results if n]  # again only what still had work
                if not tasks or time.monotonic() > until:
                    break
            store.trim_audit(self.clock())
        return done

    def _teams(self) -> Iterator[str]:
        for raw in sorted(self.client.smembers(WORKSPACES)):
            if self._stop_requested():
                return
            yield raw.decode() if isinstance(raw, bytes) else raw

    def _notify(self, store: Store, stop_requested: StopRequested) -> int:
        """Notify what the audit log says happened; returns how many entries were handled."""
        assert self.notify is not None
        # A published post leaves two or three entries: keep up with one pass's publishing.
        entries = store.unread_audit(
            self.name, count=3 * self.batch, reclaim_after_ms=int(self.retry_seconds * 1000)
        )
        if not entries:
            self._refresh_stale_cards(store, stop_requested)
            return 0
        try:  # the ids returned were not told because Slack is down: they wait for it
            failed = set(self.notify(store.team, entries, stop_requested))
            self._worked(("notifying", store.team), "notifying")
        except redis.RedisError:
            raise
        except Exception as exc:  # a bug: the batch is tried again, but not for ever
            self._log_failure(("notifying", store.team), "notifying", exc)
            failed = {e["id"] for e in entries}
            for entry_id, tries in store.audit_deliveries(sorted(failed)).items():
                if tries >= self.tell_attempts:
                    log.error("gave up telling audit entry %s after %d attempts", entry_id, tries)
                    failed.discard(entry_id)
        store.ack_audit([e["id"] for e in entries if e["id"] not in failed])
        return len(entries)

    def _refresh_stale_cards(self, store: Store, stop_requested: StopRequested) -> None:
        """With nothing new to tell, the cards Slack was down for are tried again (every
        `retry_seconds`): in a workspace gone quiet no batch would carry them."""
        assert self.notify is not None
        now = time.monotonic()
        if now - self._stale_tried.get(store.team, 0.0) >= self.retry_seconds:
            self._stale_tried[store.team] = now
            self.notify(store.team, [], stop_requested)

    def _housekeeping_overdue(self, team: str) -> bool:
        last = self._housekept.setdefault(team, time.monotonic())
        return time.monotonic() - last >= HOUSEKEEPING_DEFERRAL_SECONDS

    def _guarded(self, task: Job, store: Store) -> int:
        """One housekeeping task of a pass; a failure other than Redis's (Slack unreachable, a
        bug) is logged and the pass goes on: it must not stop publishing, nor the worker."""
        key, name = (task, store.team), getattr(task, "__name__", type(task).__name__)
        try:
            done = task(store, self._stop_requested)
        except redis.RedisError:
            raise  # `run` waits for Redis to come back
        except Exception as exc:
            self._log_failure(key, name, exc)
            return 0
        self._worked(key, name)
        return done

    def _worked(self, key: tuple[object, str], name: str) -> None:
        if self._failing.pop(key, None):
            log.info("%s works again for workspace %s", name, key[1])

    def _log_failure(self, key: tuple[object, str], name: str, exc: Exception) -> None:
        """A task failing on every pass (twice a second) logs its traceback once, then a line
        every FAILURE_REMINDER_SECONDS while the same error goes on, not a traceback a pass."""
        team, error, now = key[1], f"{type(exc).__name__}: {exc}", time.monotonic()
        failure = self._failing.get(key)
        if failure is None or failure.error != error:
            log.exception("%s failed for workspace %s", name, team)
            self._failing[key] = _Failure(error, now)
            return
        failure.since_logged += 1
        if now - failure.logged_at >= FAILURE_REMINDER_SECONDS:
            log.error(
                "%s still failing for workspace %s (%d more times): %s",
                name,
                team,
                failure.since_logged,
                error,
            )
            failure.logged_at, failure.since_logged = now, 0

    def _store(self, team: str) -> Store:
        if team not in self._stores:
            self._stores[team] = Store(self.client, team, retention_days=self.config.retention_days)
        return self._stores[team]

    def _dispatcher(self, team: str) -> Dispatcher:
        if team not in self._dispatchers:
            self._dispatchers[team] = Dispatcher(
                self._store(team),
                self.config,
                self.publishers,
                self.clock,
                lease_seconds=self.lease_seconds,
                executor=self.calls,
                lanes=CALLS_IN_FLIGHT,
            )
        return self._dispatchers[team]

    def run(self) -> None:
        """Publishing and housekeeping in two threads, so a Slack call that hangs while telling
        people (a whole client timeout, and its retries) never holds back a due post. When
        one loop stops (a signal, or a bug), so does the other; a bug then raises here, so
        the process exits and its supervisor starts a new one."""
        log.info("worker started")
        housekeeping = threading.Thread(target=self._loop, args=(self.housekeep,))
        housekeeping.name = "housekeeping"
        housekeeping.start()
        try:
            self._loop(self.publish)
        finally:
            self.stopping.set()
            housekeeping.join()  # its notice in hand ends first (see `StopRequested`)
            self.calls.shutdown()
        if self._crashed:
            raise RuntimeError("a worker loop failed (see the log above); the worker stopped")
        log.info("worker stopped")

    def _loop(self, work: Callable[[], int]) -> None:
        try:
            while not self._stop_requested():
                try:
                    busy = work()
                except redis.RedisError as exc:  # Redis restarting: wait and carry on
                    log.warning("Redis unavailable (%s); retrying", exc)
                    busy = 0
                if not busy:
                    self.stopping.wait(self.poll_seconds)
        except Exception:
            log.exception("%s failed outside its guarded tasks", work.__name__)
            self._crashed = True
            self.stopping.set()

    def _stop_requested(self) -> bool:
        if self._signalled:
            self.stopping.set()
        return self.stopping.is_set()

    def stop_on_signals(self) -> None:
        """SIGTERM/SIGINT: finish the posts in hand (their claims) and housekeeping's notice in
        hand (the rest of its batch, or of a digest's DMs, is left for a later pass, by any
        worker), then leave the loops (within `poll_seconds` when idle).

        The handler only sets a flag: it runs in the main thread between two bytecodes,
        possibly while that thread holds a lock that setting an event or starting a thread
        needs, and would then wait for itself for ever."""

        def stop(*_: object) -> None:
            self._signalled = True

        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, stop)


@dataclass
class _Failure:
    error: str
    logged_at: float
    since_logged: int = 0


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

    def notify(
        team: str, entries: list[dict[str, str]], stop_requested: StopRequested
    ) -> list[str]:
        return Notifier(gl, gl.engine(team, client), client).handle(entries, stop_requested)

    return notify
