"""Test fixtures: a real Redis (the one at REDIS_URL, or a private one), one workspace
namespace per test, and a workflow file written the way a comms lead writes it."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis

from tests.redis_servers import RedisServer
from workflows.configfile import parse_workflow_file
from workflows.directory import StaticDirectory
from workflows.engine import Engine

DEFAULT_URL = "redis://127.0.0.1:6379/0"

WORKFLOW_YAML = """
timezone: Europe/Rome
admins: [U0ADMIN]
intake: {channels: [C0DRAFTS]}
approvals_channel: C0APPROVALS
targets:
  announcements: {type: slack, channel: C0ANNOUNCE}
  press: {type: slack, channel: C0PRESS}
workflows:
  - name: press
    match: {targets: [press]}
    targets: [press]
    steps:
      - name: Comms lead
        approvers: {users: [U0LEAD]}
  - name: standard
    targets: [announcements]
    steps:
      - name: Copy review
        approvers: {users: [U0ANNA, U0LUCA], usergroups: [S0EDITORS]}
        quorum: 1
      - name: Brand
        approvers: {users: [U0BRAND, U0BRAND2]}
        quorum: all
      - name: Legal
        when: {risk_at_least: high}
        approvers: {users: [U0LEGAL]}
"""

GROUPS = {"S0EDITORS": {"U0ED1", "U0ED2", "U0AUTHOR"}}


def keyword_risk(text: str, targets: tuple[str, ...]) -> str:
    """Rates a draft "high" when it contains RISKY; enough to drive conditional steps."""
    return "high" if "RISKY" in text else "none"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("REDIS_URL", DEFAULT_URL)
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
        yield url
        return
    except redis.ConnectionError:
        pass
    if shutil.which("redis-server") is None:
        pytest.exit(
            f"No Redis answers at {url} and redis-server is not installed. Start one "
            "(Debian: apt install redis-server) or set REDIS_URL to a Redis you may use.",
            returncode=2,
        )
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def private_redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A redis-server of this test session's own, for tests that run worker processes: they
    serve every workspace in their Redis, so they must not share one with other sessions."""
    if shutil.which("redis-server") is None:
        pytest.exit("redis-server is not installed (Debian: apt install redis-server)", 2)
    server = RedisServer(tmp_path_factory.mktemp("private-redis")).start()
    yield server.url
    server.stop()


@pytest.fixture(scope="module")
def own_redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A redis-server for one test module alone: worker processes serve every workspace of
    their Redis, so a module that runs them shares it with no other (not even this session's
    e2e worker, on `private_redis_url`)."""
    server = RedisServer(tmp_path_factory.mktemp("own-redis")).start()
    yield server.url
    server.stop()


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url)
    yield connection
    connection.close()


@pytest.fixture
def team(client: redis.Redis) -> Iterator[str]:
    """A fresh workspace id; its keys are removed afterwards."""
    team_id = "T" + uuid.uuid4().hex[:10].upper()
    yield team_id
    for key in client.scan_iter(match=f"gl:{{{team_id}}}:*", count=1000):
        client.delete(key)


@pytest.fixture
def config():
    return parse_workflow_file(WORKFLOW_YAML, "test-workflow.yaml")


class Clock:
    """A clock tests move by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def engine(client, team, config, clock) -> Engine:
    return Engine(client, team, config, StaticDirectory(GROUPS), keyword_risk, clock)
