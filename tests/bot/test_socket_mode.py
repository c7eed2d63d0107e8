"""Socket Mode end to end: `greenlight run` with an app-level token dials the emulator's Socket
Mode endpoint (found through `SLACK_API_URL`), and what people do arrives as envelopes over that
WebSocket; a `greenlight worker` posts the cards. Same workspace and workflow as the HTTP tests,
on a Redis of this module's own (a worker serves every workspace in its Redis)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from bot.sandbox.emulator import SlackEmulator
from bot.sandbox.socket_mode import SocketModeSender
from tests.bot.conftest import (
    TEAM,
    WORKFLOW,
    eventually,
    find_card,
    new_modal,
    rendered,
    start_emulator,
    start_procfile,
    stop_processes,
)
from tests.redis_servers import free_port
from workflows.models import PostState
from workflows.store import Store

NO_PROXY = {name: "" for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")}


@dataclass
class SocketApp:
    slack: SlackEmulator
    sender: SocketModeSender
    store: Store
    env: dict[str, str]
    run: subprocess.Popen[bytes]
    log: Path

    def draft(self, text: str, user: str = "U0AUTHOR") -> str:
        """Post in the intake channel over the socket; the new draft's id once its card is up."""
        before = set(self.store.ids_by_author(user, limit=1000))
        self.sender.user_message(user, "C0DRAFTS", text).ack()
        (post_id,) = eventually(lambda: set(self.store.ids_by_author(user, limit=1000)) - before)
        eventually(lambda: find_card(self.slack, post_id))
        return post_id


@pytest.fixture(scope="module")
def socket_app(tmp_path_factory: pytest.TempPathFactory, own_redis_url: str) -> Iterator[SocketApp]:
    slack = start_emulator()
    workflow = tmp_path_factory.mktemp("socket-mode-config") / "workflow.yaml"
    workflow.write_text(WORKFLOW)
    env = {
        **os.environ,
        # slack_sdk's Socket Mode client tunnels through a proxy from the environment even to
        # 127.0.0.1 (it does not read NO_PROXY): the emulator must be reached directly.
        **NO_PROXY,
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_APP_TOKEN": slack.app_token,
        "SLACK_API_URL": slack.api_url,
        "REDIS_URL": own_redis_url,
        "GREENLIGHT_CONFIG": str(workflow),
        "PORT": str(free_port()),  # nothing may listen on it in Socket Mode
        "LOG_LEVEL": "warning",
    }
    env.pop("SLACK_SIGNING_SECRET", None)  # Socket Mode needs none (nor does the worker)
    log = tmp_path_factory.mktemp("socket-mode-logs") / "greenlight.log"
    run, worker = start_procfile(env, log)
    client = redis.Redis.from_url(own_redis_url)
    try:
        if not slack.socket_mode.wait_for_connections(timeout=60):
            raise RuntimeError(f"greenlight run did not connect:\n{log.read_text()}")
        yield SocketApp(slack, SocketModeSender(slack), Store(client, TEAM), env, run, log)
    finally:
        stop_processes(run, worker)
        client.close()
        slack.stop()


@pytest.fixture
def app(socket_app: SocketApp) -> Iterator[SocketApp]:
    yield socket_app
    assert socket_app.run.poll() is None, socket_app.log.read_text()


def test_greenlight_help_is_answered_privately_in_the_acknowledgement(app: SocketApp):
    before = len(app.slack.response_url_posts())
    command = app.sender.command("/greenlight", "help", user_id="U0ANNA", channel_id="C0DRAFTS")
    answer = command.ack().payload  # the answer is the envelope's acknowledgement
    assert answer["response_type"] == "ephemeral" and "/greenlight queue" in answer["text"]
    assert app.slack.response_url_posts()[before:] == []  # no second message


def test_a_message_in_the_intake_channel_becomes_a_draft_with_a_card(app: SocketApp):
    post_id = app.draft("Socket Mode spring sale 🌷")
    post = app.store.get(post_id)
    assert post.state == PostState.IN_REVIEW and post.current_step == 0
    assert post.revision.text == "Socket Mode spring sale 🌷"
    card = find_card(app.slack, post_id)
    assert "Socket Mode spring sale 🌷" in rendered(card) and "Copy review" in rendered(card)
    assert eventually(lambda: find_card(app.slack, post_id, "U0ANNA"))  # and by DM


def test_approve_on_the_card_moves_the_draft_to_the_next_step(app: SocketApp):
    post_id = app.draft("Approve me over the socket")
    card = find_card(app.slack, post_id)
    click = app.sender.click("U0ANNA", "C0APPROVALS", card.ts, "gl_approve")
    assert click.ack().payload is None
    eventually(lambda: app.store.get(post_id).current_step == 1)
    assert [e["action"] for e in app.store.history(post_id)] == ["submit", "approve"]
    assert eventually(lambda: find_card(app.slack, post_id, "U0BRAND"))  # the Brand step's


def test_a_refused_modal_submission_comes_back_in_the_ack(app: SocketApp):
    modal = new_modal(
        app.slack,
        "U0AUTHOR",
        lambda: app.sender.command(
            "/greenlight", "draft", user_id="U0AUTHOR", channel_id="C0DRAFTS"
        ).ack(),
    )
    past = {
        "text": {"text": {"type": "plain_text_input", "value": "Launch"}},
        "schedule": {"schedule": {"type": "datetimepicker", "selected_date_time": 1000}},
    }
    answer = app.sender.submit_view("U0AUTHOR", modal.id, past).ack().payload
    assert answer is not None and answer["response_action"] == "errors"
    assert answer["errors"]["schedule"].startswith("Pick a time in the future")


def test_malformed_envelopes_do_not_stop_the_app(app: SocketApp):
    endpoint = app.slack.socket_mode
    endpoint.send_raw("not json at all")
    endpoint.send_raw('{"envelope_id": "broken", "type": "events_api", "payload": ')
    endpoint.send_raw(json.dumps({"type": "slash_commands", "payload": {"text": "no id"}}))
    endpoint.send_raw(json.dumps({"envelope_id": "odd", "type": "brand_new_type", "payload": {}}))
    endpoint.send("events_api", {"type": "event_callback"})  # no event in it
    endpoint.send("interactive", {"type": "block_actions", "actions": "nonsense"})
    endpoint.send("slash_commands", {"command": "/greenlight"})  # no user, team or channel
    command = app.sender.command("/greenlight", "help", user_id="U0LUCA", channel_id="C0DRAFTS")
    assert "/greenlight queue" in command.ack().payload["text"]


def test_the_app_reconnects_when_slack_refreshes_the_connection(app: SocketApp):
    opened = app.slack.socket_mode.connections_opened
    app.slack.socket_mode.disconnect("refresh_requested")
    assert app.slack.socket_mode.wait_for_connections(1, opened=opened + 1, timeout=60)
    post_id = app.draft("After the refresh")
    assert app.store.get(post_id).state == PostState.IN_REVIEW


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        (
            "SLACK_APP_TOKEN",
            "xapp-1-A0GREENLIGHT-revoked",
            "Slack refused SLACK_APP_TOKEN (apps.connections.open: invalid_auth). Create an "
            "app-level token with the connections:write scope",
        ),
        ("SLACK_BOT_TOKEN", "xoxb-revoked", "Slack refused SLACK_BOT_TOKEN: `token` is invalid"),
    ],
)
def test_a_wrong_token_stops_start_up_with_a_clear_message(
    socket_app: SocketApp, setting: str, value: str, message: str
):
    env = {**socket_app.env, setting: value}
    finished = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run"], env=env, capture_output=True, timeout=120
    )
    assert finished.returncode == 2
    stderr = finished.stderr.decode()
    assert message in stderr
    assert "Traceback" not in stderr
