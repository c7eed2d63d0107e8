"""The worker while Slack fails under it: `Worker.tick` with the notifier `greenlight worker`
runs, against a private Redis and the Slack emulator over HTTP. Slack failing must not stop the
worker (it also publishes), and what it could not tell people goes out later, once."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from bot.app import slack_client
from bot.runtime import Greenlight
from bot.sandbox.emulator import SlackEmulator
from bot.sandbox.workspace import Message, Workspace
from bot.settings import Settings
from bot.views.card import APPROVE
from bot.worker import Worker, notifier
from tests.conftest import keyword_risk
from workflows.commands import Approve, Reject, RequestChanges, Submit
from workflows.configfile import parse_workflow_file
from workflows.engine import Engine
from workflows.publishing import PermanentFailure, Publication, Published
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
RETRY_SECONDS = 0.5


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
            {
                "REDIS_URL": "redis://unused",
                "SLACK_BOT_TOKEN": slack.bot_token,
                "SLACK_API_URL": slack.api_url,
            }
        )
        gl = Greenlight(settings, config, client, keyword_risk, RiskReview(config).findings)
        web = slack_client(settings)  # as the worker has it: retrying 429 and 5xx itself
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
    assert len(world.slack.calls("usergroups.users.list")) == 3  # the client's own 2 retries
    time.sleep(RETRY_SECONDS + 0.1)
    world.worker.tick()  # Slack is still down: told again later, still nothing posted
    assert len(world.slack.calls("usergroups.users.list")) == 6
    assert world.cards(post_id) == [] and world.dms("U0ANNA", post_id) == []
    world.slack.clear_faults()
    time.sleep(RETRY_SECONDS + 0.1)
    world.worker.tick()
    assert len(world.cards(post_id)) == 1
    assert len(world.dms("U0ANNA", post_id)) == 1 and len(world.dms("U0ED1", post_id)) == 1
    time.sleep(RETRY_SECONDS + 0.1)
    world.worker.tick()  # told once: nothing is left pending
    assert len(world.cards(post_id)) == 1 and len(world.dms("U0ED1", post_id)) == 1


def test_an_error_slack_will_give_again_is_logged_and_not_retried(world: World, caplog):
    """A lookup Slack refuses as such (the app lacks `usergroups:read`, say) would fail the same
    way every time: it is logged as an error, given up, and the next entries are told."""
    world.slack.fail("usergroups.users.list", "missing_scope", times=1)
    first = world.engine.execute(Submit("U0AUTHOR", "Nobody can be told")).post.id
    world.worker.tick()
    assert "could not tell people about submit of #" in caplog.text and "given up" in caplog.text
    second = world.engine.execute(Submit("U0AUTHOR", "Told as usual")).post.id
    time.sleep(RETRY_SECONDS + 0.1)
    world.worker.tick()
    assert world.cards(first) == [] and len(world.cards(second)) == 1
    (told,) = [m for m in world.slack.messages("U0AUTHOR") if "could not tell" in m.text]
    assert f"draft #{first} (missing_scope)" in told.text and "/greenlight queue" in told.text
    assert len(world.slack.calls("usergroups.users.list")) == 2  # one per draft, no retry


def buttons(message: Message) -> set[str]:
    return {
        element.get("action_id")
        for block in message.blocks or []
        if block.get("type") == "actions"
        for element in block.get("elements", [])
    }


def test_a_card_whose_news_was_told_just_before_slack_went_down_is_refreshed_once_it_is_back(
    world: World,
):
    """In one batch, a rejection is told (the author's DM goes out), then Slack goes down
    (503 on every later post) before the next draft's card: the rejected draft's card still
    offers Approve, and once Slack is back it loses its buttons. (It kept them until the
    draft's next change, which for a rejected draft never comes.)"""
    rejected = world.engine.execute(Submit("U0AUTHOR", "Off-brand joke")).post.id
    world.worker.tick()
    (card,) = world.cards(rejected)
    assert APPROVE in buttons(card)
    world.engine.execute(Reject("U0ANNA", rejected, 1, 0, "Not our tone"))
    waiting = world.engine.execute(Submit("U0AUTHOR", "Spring sale starts Monday")).post.id
    world.slack.server_error("chat.postMessage", times=None, status=503, after=1)
    world.worker.tick()
    assert [m for m in world.slack.messages("U0AUTHOR") if "Not our tone" in str(m.blocks)]
    assert world.cards(waiting) == []  # Slack went down before its card
    world.slack.clear_faults()
    time.sleep(RETRY_SECONDS + 0.1)
    world.worker.tick()
    assert len(world.cards(waiting)) == 1
    (card,) = world.cards(rejected)
    assert APPROVE not in buttons(card)


@pytest.mark.parametrize(
    ("decide", "notice"),
    [
        (lambda post: Approve("U0ANNA", post, 1, 0), "is approved"),
        (lambda post: Reject("U0ANNA", post, 1, 0, "Not our tone"), "Not our tone"),
        (lambda post: RequestChanges("U0ANNA", post, 1, 0, "Shorter, please"), "Shorter, please"),
    ],
    ids=["approved", "rejected", "changes requested"],
)
def test_the_authors_news_slack_could_not_take_reaches_them_once_it_is_back(
    world: World, decide, notice: str
):
    """The last decision is told while Slack answers 503 to every post (past the client's
    retries): the author's notice, all that decision tells anyone, goes out once Slack is
    back, once, and the card loses its buttons. (It was logged and lost: the author never
    learnt their draft was approved or why it was turned down.)"""
    post_id = world.engine.execute(Submit("U0AUTHOR", "Spring sale starts Monday")).post.id
    world.worker.tick()
    world.engine.execute(decide(post_id))
    world.slack.server_error("chat.postMessage", times=None, status=503)
    world.worker.tick()

    def notices() -> list[Message]:
        return [m for m in world.dms("U0AUTHOR", post_id) if notice in f"{m.text} {m.blocks}"]

    assert notices() == []
    world.slack.clear_faults()
    time.sleep(RETRY_SECONDS + 0.1)
    world.worker.tick()
    assert len(notices()) == 1
    (card,) = world.cards(post_id)
    assert APPROVE not in buttons(card)
    time.sleep(RETRY_SECONDS + 0.1)
    world.worker.tick()  # told once: nothing is left pending
    assert len(notices()) == 1


class Refusing:
    """A network that refuses every post for good."""

    def publish(self, publication: Publication) -> Published:
        raise PermanentFailure("account suspended")


def test_news_of_a_failed_publication_slack_could_not_take_reaches_the_author_once_back(
    world: World,
):
    """The approved post cannot be published (the network refuses it for good) while Slack
    answers 503 to every post: once Slack is back the author learns it, once."""
    world.worker.publishers = {"site": Refusing()}
    post_id = world.engine.execute(Submit("U0AUTHOR", "Spring sale starts Monday")).post.id
    world.worker.tick()
    world.engine.execute(Approve("U0ANNA", post_id, 1, 0))
    # The approval's notice goes out; Slack is down from the failure's notice on.
    world.slack.server_error("chat.postMessage", times=None, status=503, after=1)
    world.worker.tick()  # published and failed
    assert [m for m in world.dms("U0AUTHOR", post_id) if "is approved" in m.text]

    def notices() -> list[Message]:
        return [m for m in world.dms("U0AUTHOR", post_id) if "could not be published" in m.text]

    assert notices() == []
    world.slack.clear_faults()
    time.sleep(RETRY_SECONDS + 0.1)
    world.worker.tick()
    (told,) = notices()
    assert "account suspended" in told.text
    time.sleep(RETRY_SECONDS + 0.1)
    world.worker.tick()
    assert len(notices()) == 1


def test_a_card_slack_could_not_update_is_updated_later_in_a_quiet_workspace(world: World):
    """The rejection is told, but Slack answers 503 to the card's update (past the client's
    retries), and nothing else happens in the workspace: the card still loses its buttons
    once Slack is back, without a new change to carry it."""
    rejected = world.engine.execute(Submit("U0AUTHOR", "Off-brand joke")).post.id
    world.worker.tick()
    world.engine.execute(Reject("U0ANNA", rejected, 1, 0, "Not our tone"))
    world.slack.server_error("chat.update", times=None, status=503)
    world.worker.tick()
    (card,) = world.cards(rejected)
    assert APPROVE in buttons(card)
    world.slack.clear_faults()
    time.sleep(RETRY_SECONDS + 0.1)
    world.worker.tick()  # no audit entry is left to tell
    (card,) = world.cards(rejected)
    assert APPROVE not in buttons(card)


def test_a_worker_told_to_stop_mid_batch_leaves_the_rest_to_the_next_one_telling_nobody_twice(
    world: World,
):
    """SIGTERM while a worker tells a batch of eight drafts, with Slack answering each call late:
    it stops after the draft in hand, not after the whole batch (which, at a few Slack calls a
    draft, outlasts a platform's 30 s kill grace: the worker was killed mid-batch and the batch
    told again). The next worker tells the rest: every card and DM once."""
    ids = [world.engine.execute(Submit("U0AUTHOR", f"Launch post {n}")).post.id for n in range(8)]
    world.slack.delay("*", 0.2)  # the batch takes several seconds: the signal comes well before
    running = threading.Thread(target=world.worker.run)
    running.start()
    deadline = time.monotonic() + 30
    while not world.slack.calls("chat.postMessage"):
        assert time.monotonic() < deadline, "the worker posted no card"
        time.sleep(0.01)
    pytests = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    try:
        world.worker.stop_on_signals()
        signal.raise_signal(signal.SIGTERM)  # in this (main) thread, as the platform's would be
        running.join(timeout=30)
    finally:
        signal.signal(signal.SIGTERM, pytests[0])
        signal.signal(signal.SIGINT, pytests[1])
    assert not running.is_alive()
    first = [len(world.cards(post_id)) for post_id in ids]
    assert sum(first) < len(ids), "the worker told the whole batch before stopping"

    world.slack.clear_faults()
    w = world.worker
    successor = Worker(w.client, w.config, {}, notify=w.notify, name="w2", retry_seconds=0.5)
    time.sleep(0.6)  # the first worker's pending entries are handed out after retry_seconds
    while successor.tick():
        pass
    assert [len(world.cards(post_id)) for post_id in ids] == [1] * len(ids)
    for user in ("U0ANNA", "U0ED1"):
        assert [len(world.dms(user, post_id)) for post_id in ids] == [1] * len(ids)


def test_each_approver_of_a_big_group_gets_the_card_by_dm_up_to_a_hundred(world: World):
    """A step names Anna and a user group of 120 people: the first 100 get the card by DM
    (it was 25, silently), and the author is told that the rest find it in their queue."""
    editors = [f"U0BIG{n:03d}" for n in range(120)]
    for user in editors:
        world.slack.add_user(user)
    world.slack.add_usergroup("S0EDITORS", editors)
    post_id = world.engine.execute(Submit("U0AUTHOR", "Company-wide review")).post.id
    world.worker.tick()
    dmed = [u for u in editors if world.dms(u, post_id)]
    assert len(world.dms("U0ANNA", post_id)) == 1 and len(dmed) == 99
    (told,) = [m.text for m in world.dms("U0AUTHOR", post_id) if "121 approvers" in m.text]
    assert "the first 100 got the card by DM" in told and "/greenlight queue" in told
