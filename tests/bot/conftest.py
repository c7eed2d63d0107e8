"""End-to-end fixtures: the Slack emulator, `greenlight run` (real gunicorn) pointed at it and at
a real Redis, and a sender of correctly signed Slack requests to its `/slack/events`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from bot.sandbox.emulator import SlackEmulator
from bot.sandbox.signing import SlackRequestSender
from bot.sandbox.workspace import Message, Workspace
from tests.redis_servers import free_port
from workflows.store import WORKSPACES, Store

SECRET = "e2e-signing-secret"
#: One workspace per test session, so parallel runs on one Redis never share keys.
TEAM = "T0E2E" + uuid.uuid4().hex[:8].upper()
EDITORS = [f"U0ED{n:02d}" for n in range(20)]
WORKFLOW = """
admins: [U0ADMIN]
intake: {channels: [C0DRAFTS]}
approvals_channel: C0APPROVALS
targets:
  announcements: {type: slack, channel: C0ANNOUNCE}
  x: {type: slack, channel: C0XFEED, platform: x}
workflows:
  - name: standard
    targets: [announcements]
    steps:
      - name: Copy review
        approvers: {users: [U0ANNA, U0LUCA], usergroups: [S0EDITORS]}
      - name: Brand
        approvers: {users: [U0BRAND, U0GONE]}
      - name: Legal
        when: {risk_at_least: high}
        approvers: {users: [U0LEGAL]}
risk: {require_override_at: high}
digest: {channel: C0SOCIAL, at: "03:00", grace: 1m}
blackouts:
  - {from: "2099-12-24T00:00:00+01:00", to: "2099-12-27T00:00:00+01:00", reason: Christmas silence}
"""


@dataclass
class Live:
    slack: SlackEmulator
    sender: SlackRequestSender
    url: str
    store: Store

    def eventually(self, check: Callable[[], Any], timeout: float = 30.0) -> Any:
        return eventually(check, timeout)

    def settle(self, quiet: float = 0.4, timeout: float = 15.0) -> None:
        """Wait until the bot has made no Slack call for `quiet` seconds (its after-ack work
        for earlier requests is done), so a fault injected next hits this test's calls."""
        deadline = time.monotonic() + timeout
        count = len(self.slack.calls())
        calm_since = time.monotonic()
        while time.monotonic() - calm_since < quiet and time.monotonic() < deadline:
            time.sleep(0.05)
            now = len(self.slack.calls())
            if now != count:
                count, calm_since = now, time.monotonic()

    def new_modal(self, user: str, open_it: Callable[[], Any]):
        """`new_modal` for a click or command sent over HTTP (it must get a 200)."""
        return new_modal(self.slack, user, lambda: open_it().status == 200)

    def card(self, post_id: str, channel: str = "C0APPROVALS") -> Message | None:
        return find_card(self.slack, post_id, channel)

    def card_says(self, post_id: str, words: str, channel: str = "C0APPROVALS") -> bool:
        card = self.card(post_id, channel)
        return card is not None and words in rendered(card)

    def draft(self, text: str, user: str = "U0AUTHOR") -> str:
        """Post in the intake channel and wait for the draft's card; returns the post id."""
        before = set(self.store.ids_by_author(user, limit=1000))
        assert self.sender.user_message(user, "C0DRAFTS", text).status == 200
        new = self.eventually(lambda: set(self.store.ids_by_author(user, limit=1000)) - before)
        (post_id,) = new
        self.eventually(lambda: self.card(post_id))
        return post_id

    def request_changes(self, post_id: str, reason: str, user: str = "U0LUCA") -> Message:
        """`user` asks for changes with `reason`; returns the author's DM that says so."""
        modal = self.new_modal(user, lambda: self.click(user, post_id, "gl_request_changes"))
        values = {"reason": {"reason": {"type": "plain_text_input", "value": reason}}}
        assert self.sender.submit_view(user, modal.id, values).status == 200
        return self.eventually(
            lambda: [m for m in self.slack.messages("U0AUTHOR") if reason in rendered(m)]
        )[-1]

    def edit_intake(self, post_id: str, text: str, user: str = "U0AUTHOR") -> None:
        """The author edits the intake message of `post_id` to `text` (as Slack sends it)."""
        ts, now = self.store.get(post_id).source.ts, f"{time.time():.6f}"
        message = {"type": "message", "user": user, "ts": ts}
        self.sender.event(
            {
                "type": "message",
                "subtype": "message_changed",
                "channel": "C0DRAFTS",
                "message": {**message, "text": text},
                "previous_message": {**message, "text": "(before)"},
                "ts": now,
                "event_ts": now,
            }
        )

    def delete_intake(self, post_id: str, user: str = "U0AUTHOR") -> None:
        """The author deletes the intake message of `post_id` (one without replies)."""
        ts, now = self.store.get(post_id).source.ts, f"{time.time():.6f}"
        self.sender.event(
            {
                "type": "message",
                "subtype": "message_deleted",
                "channel": "C0DRAFTS",
                "deleted_ts": ts,
                "ts": now,
                "event_ts": now,
                "previous_message": {"type": "message", "user": user, "text": "x", "ts": ts},
            }
        )

    def click(self, user: str, post_id: str, action: str, channel: str = "C0APPROVALS"):
        card = self.card(post_id, channel)
        assert card is not None
        return self.sender.click(user, channel, card.ts, action)

    def private_replies(self, user: str) -> list[str]:
        """Texts the bot sent, after the acknowledgement, to response URLs given to `user`."""
        return [
            p.body.get("text", "") for p in self.slack.response_url_posts() if p.user_id == user
        ]


def new_modal(slack: SlackEmulator, user: str, open_it: Callable[[], Any]):
    """Run `open_it` (a click or a command; it must return something true) and return the modal
    it opened for `user`; modals an earlier test left open do not count."""
    before = {view.id for view in slack.modal_stack(user)}
    assert open_it()
    return eventually(lambda: [v for v in slack.modal_stack(user) if v.id not in before])[-1]


def eventually(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Wait for the bot's after-ack work: returns `check()`'s first truthy value."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {check}")
        time.sleep(0.05)


def find_card(slack: SlackEmulator, post_id: str, channel: str = "C0APPROVALS") -> Message | None:
    """The approval card of draft `post_id` in `channel` (a user id for the DM copy)."""
    for message in slack.messages(channel):
        if f"Draft #{post_id} ·" in rendered(message):
            return message
    return None


def rendered(message: Message) -> str:
    """Everything a reader sees in a message: its text and its blocks."""
    return message.text + json.dumps(message.blocks or [], ensure_ascii=False)


def get_json(url: str) -> tuple[int, dict]:
    """GET `url`: its status and JSON body, whatever the status."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture(scope="session")
def redis_url(private_redis_url: str) -> str:
    """The Slack app's tests run a worker process: they get a Redis of their own."""
    return private_redis_url


@pytest.fixture(scope="session")
def live_server(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    _clear(redis_url)  # post ids then stay unique for the whole session, like cards
    slack = start_emulator()
    workflow = tmp_path_factory.mktemp("config") / "workflow.yaml"
    workflow.write_text(WORKFLOW)
    port = free_port()
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.api_url,
        "SLACK_APP_TOKEN": "",
        "REDIS_URL": redis_url,
        "GREENLIGHT_CONFIG": str(workflow),
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "LOG_LEVEL": "warning",
    }
    log = Path(tmp_path_factory.mktemp("logs")) / "greenlight.log"
    process, worker = start_procfile(env, log)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if get_json(base + "/readyz")[0] == 200:
                break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"greenlight run did not start:\n{log.read_text()}")
        time.sleep(0.1)
    yield {
        "slack": slack,
        "base": base,
        "redis_url": redis_url,
        "process": process,
        "worker": worker,
        "log": log,
    }
    stop_processes(process, worker)
    slack.stop()
    _clear(redis_url)


def start_procfile(env: dict[str, str], log: Path) -> tuple[subprocess.Popen, subprocess.Popen]:
    """The Procfile's two processes (`greenlight run`, `greenlight worker`), logging to `log`."""
    with log.open("wb") as out:
        run = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
        worker = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "worker", "--poll-seconds", "0.05"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return run, worker


def stop_processes(*processes: subprocess.Popen) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(timeout=30)


def start_emulator() -> SlackEmulator:
    """The emulated workspace of the end-to-end tests (team `TEAM`), started."""
    workspace = Workspace()
    workspace.add_team(TEAM)
    slack = SlackEmulator(workspace).start()
    for user in ("U0AUTHOR", "U0ANNA", "U0LUCA", "U0BRAND", "U0LEGAL", "U0ADMIN", *EDITORS):
        slack.add_user(user, tz="Europe/Rome", tz_offset=3600)
    slack.add_user("U0GONE", deleted=True)
    slack.add_usergroup("S0EDITORS", [*EDITORS, "U0AUTHOR"])
    members = ["U0AUTHOR", "U0ANNA", "U0LUCA", "U0BRAND", "U0LEGAL", "U0ADMIN", *EDITORS]
    for channel in ("C0DRAFTS", "C0APPROVALS", "C0ANNOUNCE", "C0SOCIAL"):
        slack.add_channel(channel, channel.lower(), members=members)
    return slack


def _clear(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=f"gl:{{{TEAM}}}:*", count=1000):
        client.delete(key)
    client.srem(WORKSPACES, TEAM)
    client.close()


@pytest.fixture
def live(live_server: dict) -> Iterator[Live]:
    client = redis.Redis.from_url(live_server["redis_url"])
    slack: SlackEmulator = live_server["slack"]
    slack.clear_faults()
    sender = SlackRequestSender(live_server["base"] + "/slack/events", SECRET, emulator=slack)
    live = Live(slack, sender, live_server["base"], Store(client, TEAM))
    live.settle()
    yield live
    for name in ("process", "worker"):
        assert live_server[name].poll() is None, live_server["log"].read_text()
    client.close()
