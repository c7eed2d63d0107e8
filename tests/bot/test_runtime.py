"""`bot.runtime.Greenlight`'s Redis connections, from one pool per process. After Redis
restarted the pooled connections are dead, and the next request must not fail on one (the pool
checks a connection before handing it out; a client that kept one connection per thread without
that check failed here). However many requests the threads serve, the pool holds at most one
connection per thread at once, which operators size Redis's client limit by."""

from __future__ import annotations

import threading
from pathlib import Path

import redis
from slack_sdk import WebClient

from bot.runtime import Greenlight
from bot.settings import Settings
from tests.conftest import keyword_risk
from tests.redis_servers import RedisServer
from workflows.commands import Submit
from workflows.configfile import parse_workflow_file
from workflows.review import RiskReview

FLOW = """
approvals_channel: C0APPROVALS
targets:
  announcements: {type: slack, channel: C0ANNOUNCE}
workflows:
  - name: standard
    targets: [announcements]
    steps:
      - name: Review
        approvers: {users: [U0ANNA]}
"""
TEAM = "T0RUNTIME"


def greenlight(url: str) -> Greenlight:
    config = parse_workflow_file(FLOW, "flow.yaml")
    settings = Settings.model_validate({"REDIS_URL": url})
    return Greenlight(
        settings, config, redis.Redis.from_url(url), keyword_risk, RiskReview(config).findings
    )


def test_a_redis_restart_costs_no_request(tmp_path: Path):
    """The thread's connection dies with the server; the next request reconnects."""
    server = RedisServer(tmp_path / "redis").start()
    try:
        gl = greenlight(server.url)
        engine = gl.engine(TEAM, WebClient(token="xoxb-unused"))
        engine.execute(Submit(actor="U0AUTHOR", text="before the restart"))
        assert len(engine.queue_for("U0ANNA")) == 1
        server.stop()
        server.start()  # same port, empty (nothing on disk)
        assert gl.engine(TEAM, WebClient(token="xoxb-unused")).queue_for("U0ANNA") == []
        engine.execute(Submit(actor="U0AUTHOR", text="after the restart"))
        assert [p.revision.text for p in engine.queue_for("U0ANNA")] == ["after the restart"]
    finally:
        server.stop()


def test_eight_threads_hold_at_most_eight_connections_however_many_requests(tmp_path: Path):
    """Eight threads, five drafts and queue reads each (commands, a script, pipelines): the
    connections are reused, not opened per request."""
    server = RedisServer(tmp_path / "redis").start()
    try:
        gl = greenlight(server.url)
        start = threading.Barrier(8)

        def requests() -> None:
            start.wait()
            for i in range(5):
                engine = gl.engine(TEAM, WebClient(token="xoxb-unused"))
                engine.execute(Submit(actor="U0AUTHOR", text=f"draft {i}"))
                engine.queue_for("U0ANNA")

        threads = [threading.Thread(target=requests) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(gl.engine(TEAM, WebClient(token="xoxb-unused")).queue_for("U0ANNA")) == 40
        observer = redis.Redis.from_url(server.url)
        clients = observer.client_list()
        observer.close()
        assert len(clients) - 1 <= 8  # the observer's own is not the pool's
    finally:
        server.stop()
