"""The worker while Slack fails under it: `Worker.tick` with the notifier `greenlight worker`
runs, against a private Redis and the Slack emulator over HTTP. Slack failing must not stop the
worker (it also publishes), and what it could not tell people goes out later, once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from slack_sdk import WebClient

from bot.runtime import Greenlight
from bot.sandbox.emulator import SlackEmulator
from bot.sandbox.workspace import Message, Workspace
from bot.settings import Settings
from bot.worker import Worker, notifier
from tests.conftest import keyword_risk
from workflows.commands import Submit
from workflows.configfile import parse_workflow_file
from workflows.engine import Engine
from workflows.review import RiskReview

FLOW = """
approvals_channel: C0APPROVALS
targets: {site: {type: slack, channel: C0SITE}}
workflows:
  - name: standard
    targets: [site]
    steps:
      - name: Copy review
        approvers: {users: [U0ANNA], usergroups: [S0EDITORS]}
"""
RETRY_SECONDS = 0.3


@pytest.fixture(scope="module")
def redis_url(own_redis_url: str) -> str:
    return own_redis_url  # these tests run workers, which walk every workspace


@dataclass
class World:
    slack: SlackEmulator
    engine: Engine
    worker: Worker

    def cards(self, post_id: str) -> list[Message]:
        return [m for m in self.slack.messages("C0APPROVALS") if f"#{post_id}" in m.text]

    def dms(self, user: str, post_id: str) -> list[Message]:
        return [m for m in self.slack.messages(user) if f"#{post_id}" in m.text]


@pytest.fixture
def world(client, team) -> Iterator[World]:
    workspace = Workspace()
    workspace.add_team(team)
    with SlackEmulator(workspace) as slack:
        for user in ("U0AUTHOR", "U0ANNA", "U0ED1"):
            slack.add_user(user, tz="Europe/Rome")
        slack.add_usergroup("S0EDITORS", ["U0ED1"])
        slack.add_channel("C0APPROVALS", "approvals", members=[workspace.teams[team].bot_user_id])
        config = parse_workflow_file(FLOW, "flow.yaml")
        settings = Settings.model_validate(
            {"REDIS_URL": "redis://unused", "SLACK_BOT_TOKEN": slack.bot_token}
        )
        gl = Greenlight(settings, config, client, keyword_risk, RiskReview(config).findings)
        web = WebClient(token=slack.bot_token, base_url=slack.api_url)
        worker = Worker(
            client, config, {}, notify=notifier(gl, web), name="w", retry_seconds=RETRY_SECONDS
        )
        yield World(slack, gl.engine(team, web), worker)


def test_slack_failing_as_a_step_starts_delays_its_card_and_dms_without_doubling_them(
    world: World,
):
    """Slack answers 503 to every user-group lookup (past the client's own retries) when the
    worker starts a draft's step: the pass goes on, nothing is posted half-way, and once Slack
    is back the card and each approver's DM go out, once each."""
    world.slack.server_error("usergroups.users.list", times=None, status=503)
    post_id = world.engine.execute(Submit("U0AUTHOR", "Spring sale starts Monday")).post.id
    world.worker.tick()  # before the fix, the SlackApiError ended the worker here
    assert world.cards(post_id) == [] and world.dms("U0ANNA", post_id) == []
    world.slack.clear_faults()
    world.worker.tick()  # not yet: the entry is handed out again after `retry_seconds`
    assert world.cards(post_id) == []
    time.sleep(RETRY_SECONDS + 0.1)
    world.worker.tick()
    assert len(world.cards(post_id)) == 1
    assert len(world.dms("U0ANNA", post_id)) == 1 and len(world.dms("U0ED1", post_id)) == 1
    time.sleep(RETRY_SECONDS + 0.1)
    world.worker.tick()  # told once: nothing is left pending
    assert len(world.cards(post_id)) == 1 and len(world.dms("U0ED1", post_id)) == 1


def test_an_entry_that_fails_for_good_is_given_up_after_its_attempts(world: World, caplog):
    """A lookup Slack refuses every time (the app lacks `usergroups:read`, say) is tried
    `tell_attempts` times, then logged as given up; the worker does not retry it forever."""
    world.worker.tell_attempts = 3
    world.slack.fail("usergroups.users.list", "missing_scope", times=None)
    post_id = world.engine.execute(Submit("U0AUTHOR", "Nobody can be told")).post.id
    for _ in range(6):
        world.worker.tick()
        time.sleep(RETRY_SECONDS + 0.1)
    assert len(world.slack.calls("usergroups.users.list")) == 3
    assert "gave up telling audit entry" in caplog.text
    assert world.cards(post_id) == []
    world.worker.tick()
    assert len(world.slack.calls("usergroups.users.list")) == 3
