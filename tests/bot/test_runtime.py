"""`bot.runtime.Greenlight` after Redis restarted: the connections it kept are dead, and the
next request must not fail on one (the pool checks a connection before handing it out; a
client that kept one connection per thread, without that check, failed here)."""

from __future__ import annotations

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
