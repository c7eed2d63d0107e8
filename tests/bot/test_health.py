"""`GET /healthz` and `GET /readyz` of `greenlight run` (real gunicorn) while its Redis goes
away and comes back: a load balancer must see "not ready" (503), not a crash, and the process
must serve again once Redis is back."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import suppress
from pathlib import Path

from bot.sandbox.emulator import SlackEmulator
from tests.bot.conftest import eventually, get_json
from tests.redis_servers import RedisServer, free_port

WORKFLOW = """
approvals_channel: C0APPROVALS
targets: {site: {type: slack, channel: C0SITE}}
workflows:
  - name: standard
    targets: [site]
    steps:
      - {name: Review, approvers: {users: [U0ANNA]}}
"""


def readyz(base: str) -> tuple[int, dict] | None:
    """`GET /readyz`, or None while the server does not listen yet."""
    with suppress(OSError):
        return get_json(base + "/readyz")
    return None


def test_readyz_says_not_ready_while_redis_is_down_and_ready_once_it_is_back(tmp_path: Path):
    redis_server = RedisServer(tmp_path / "redis").start()
    workflow = tmp_path / "workflow.yaml"
    workflow.write_text(WORKFLOW)
    port = free_port()
    with SlackEmulator() as slack:
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_SIGNING_SECRET": "health-secret",
            "SLACK_API_URL": slack.api_url,
            "SLACK_APP_TOKEN": "",
            "REDIS_URL": redis_server.url,
            "GREENLIGHT_CONFIG": str(workflow),
            "PORT": str(port),
            "WEB_CONCURRENCY": "1",
            "LOG_LEVEL": "warning",
        }
        base = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "bot.cli", "run"]
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
        try:
            assert eventually(lambda: readyz(base)) == (
                200,
                {"status": "ready", "workflows": 1},
            )
            redis_server.stop()
            status, body = get_json(base + "/readyz")
            assert status == 503 and body["status"] == "not ready" and body["redis"]
            assert get_json(base + "/healthz") == (200, {"status": "up"})  # the process is up
            redis_server.start()  # same port
            assert eventually(lambda: (readyz(base) or (0,))[0] == 200)
            assert process.poll() is None
        finally:
            process.terminate()
            process.wait(timeout=30)
            redis_server.stop()
