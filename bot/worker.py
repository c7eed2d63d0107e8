"""`greenlight worker`: publishes due posts of every workspace. Run as many as you like; they
share the work through Redis claims. SIGTERM finishes the posts in hand, then exits."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Mapping
from datetime import datetime

import redis

from workflows.config import WorkflowFile
from workflows.engine import utc_now
from workflows.publishing import Publisher
from workflows.scheduler import Dispatcher
from workflows.store import WORKSPACES, Store

log = logging.getLogger(__name__)


class Worker:
    def __init__(
        self,
        client: redis.Redis,
        config: WorkflowFile,
        publishers: Mapping[str, Publisher],
        *,
        clock: Callable[[], datetime] = utc_now,
        poll_seconds: float = 0.5,
        batch: int = 20,
        lease_seconds: float = 60.0,
    ) -> None:
        self.client = client
        self.config = config
        self.publishers = publishers
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.batch = batch
        self.lease_seconds = lease_seconds
        self.stopping = threading.Event()

    def tick(self) -> int:
        """One pass over every workspace; returns how many posts were claimed."""
        claimed = 0
        for raw in sorted(self.client.smembers(WORKSPACES)):
            team = raw.decode() if isinstance(raw, bytes) else raw
            store = Store(self.client, team, retention_days=self.config.retention_days)
            dispatcher = Dispatcher(
                store, self.config, self.publishers, self.clock, lease_seconds=self.lease_seconds
            )
            dispatcher.reap()
            claimed += dispatcher.run_due(self.batch)
        return claimed

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
        log.info("worker stopped")

    def stop_on_signals(self) -> None:
        """SIGTERM/SIGINT: finish the posts in hand (their claims), then leave the loop."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stopping.set())
