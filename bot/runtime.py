"""What every listener needs, built once per process: settings, workflow file, Redis, the risk
checker, and an engine for the workspace a request comes from."""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import redis
from slack_sdk import WebClient

from bot.directory import SlackDirectory
from bot.queue import QueueLines
from bot.settings import Settings
from bot.views.card import Finding
from workflows.config import WorkflowFile
from workflows.engine import Engine, utc_now
from workflows.models import Revision
from workflows.rules import RiskAssessor
from workflows.store import Store


@dataclass
class Greenlight:
    settings: Settings
    config: WorkflowFile
    redis: redis.Redis
    assess_risk: RiskAssessor
    findings: Callable[[Revision], Sequence[Finding]]
    clock: Callable[[], datetime] = field(default=utc_now)
    #: `/greenlight queue` lines, kept per post version in this process.
    queue: QueueLines = field(default_factory=QueueLines)

    def store(self, team: str) -> Store:
        return Store(self.redis, team, retention_days=self.config.retention_days)

    def directory(
        self, team: str, client: WebClient, before_slack_call: Callable[[], None] | None = None
    ) -> SlackDirectory:
        return SlackDirectory(client, self.store(team), before_slack_call=before_slack_call)

    def engine(
        self, team: str, client: WebClient, before_slack_call: Callable[[], None] | None = None
    ) -> Engine:
        return Engine(
            self.redis,
            team,
            self.config,
            self.directory(team, client, before_slack_call),
            self.assess_risk,
            self.clock,
        )

    def is_admin(self, user: str) -> bool:
        return user in self.config.admins


def started() -> None:
    """Call once a process has built what it keeps for its whole life (modules, the app, the
    workflow file): those objects move out of the garbage collector's reach, so its passes walk
    only what requests and posts allocate. Without this, the full passes over the libraries'
    objects cost the worker about a sixth of its CPU per published post, and show in the web
    processes' slowest acknowledgements."""
    gc.collect()
    gc.freeze()
