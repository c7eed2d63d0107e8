"""Reminders and escalations as people get them: workers (`Worker.tick`, with the reminders job
`greenlight worker` runs) against a private Redis and the Slack emulator over HTTP, with a clock
the tests move, across daylight-saving changes in Europe/Rome and America/New_York."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from slack_sdk import WebClient

from bot.reminders import reminders_job
from bot.runtime import Greenlight
from bot.sandbox.emulator import SlackEmulator
from bot.sandbox.workspace import Message, Workspace
from bot.settings import Settings
from bot.worker import Worker, notifier
from tests.conftest import Clock, keyword_risk
from workflows.commands import Approve, RequestChanges, Revise, Submit
from workflows.configfile import parse_workflow_file
from workflows.engine import Engine
from workflows.models import StepStatus
from workflows.reminders import away_ends_at
from workflows.review import RiskReview

FLOW = """
timezone: Europe/Rome
admins: [U0ADMIN]
approvals_channel: C0APPROVALS
quiet_hours: "20:00-08:00"
targets: {site: {type: slack, channel: C0SITE}}
workflows:
  - name: standard
    targets: [site]
    steps:
      - name: Copy review
        approvers: {users: [U0ANNA, U0NINA], usergroups: [S0EDITORS]}
        quorum: all
        remind_after: 2h
        remind_every: 1h
        escalate_after: 5h
        escalate_to: {users: [U0BOSS], usergroups: [S0CHIEFS]}
      - name: Brand
        approvers: {users: [U0BRAND]}
"""
MONDAY_MORNING = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 10:00 in Rome, 04:00 in New York


@pytest.fixture(scope="module")
def redis_url(own_redis_url: str) -> str:
    return own_redis_url  # these tests run workers


@dataclass
class World:
    slack: SlackEmulator
    gl: Greenlight
    web: WebClient
    engine: Engine
    clock: Clock
    workers: list[Worker]

    def run(self) -> None:
        """Let the workers work until nothing is due."""
        for _ in range(20):
            if not sum(w.tick() for w in self.workers):
                return
        raise AssertionError("the workers never ran out of work")

    def at(self, moment: datetime) -> None:
        self.clock.now = moment
        self.run()

    def submit(self, text: str = "Spring sale 🌸", urgent: bool = False) -> str:
        post_id = self.engine.execute(Submit("U0AUTHOR", text, urgent=urgent)).post.id
        self.run()  # the step starts: card and first DMs
        return post_id

    def reminders(self, user: str, post_id: str | None = None) -> list[Message]:
        return [
            m
            for m in self.slack.messages(user)
            if "Reminder" in sent(m) and (post_id is None or f"#{post_id} " in sent(m))
        ]

    def dms(self, user: str, words: str) -> list[Message]:
        return [m for m in self.slack.messages(user) if words in sent(m)]


def sent(message: Message) -> str:
    """The text as sent (cards are updated in place later, text and all)."""
    return message.edits[0].get("text", "") if message.edits else message.text


def buttons(message: Message) -> list[dict]:
    return [e for b in message.blocks or [] if b["type"] == "actions" for e in b["elements"]]


@pytest.fixture
def world(client, team, redis_url):
    workspace = Workspace()
    workspace.add_team(team)
    with SlackEmulator(workspace) as slack:
        for user in ("U0ANNA", "U0ED1", "U0BOSS", "U0CHIEF", "U0BRAND", "U0ADMIN", "U0MARA"):
            slack.add_user(user, tz="Europe/Rome")
        slack.add_user("U0AUTHOR", tz="Europe/Rome")
        slack.add_user("U0NINA", tz="America/New_York")
        slack.add_usergroup("S0EDITORS", ["U0ED1", "U0AUTHOR"])
        slack.add_usergroup("S0CHIEFS", ["U0CHIEF"])
        slack.add_channel("C0APPROVALS", "approvals", members=[workspace.teams[team].bot_user_id])
        config = parse_workflow_file(FLOW, "flow.yaml")
        settings = Settings.model_validate(
            {"REDIS_URL": redis_url, "SLACK_BOT_TOKEN": slack.bot_token}
        )
        clock = Clock()
        clock.now = MONDAY_MORNING
        review = RiskReview(config)
        gl = Greenlight(settings, config, client, keyword_risk, review.findings, clock)
        web = WebClient(token=slack.bot_token, base_url=slack.api_url)
        workers = [
            Worker(
                client,
                config,
                {},
                clock=clock,
                notify=notifier(gl, web),
                jobs=[reminders_job(gl, web)],
                name=f"worker-{n}",
            )
            for n in range(2)
        ]
        yield World(slack, gl, web, gl.engine(team, web), clock, workers)


def use_config(world: World, text: str) -> None:
    """The workers and the engine work from this workflow file instead."""
    config = parse_workflow_file(text, "flow.yaml")
    world.gl.config = config
    world.engine = world.gl.engine(world.engine.store.team, world.web)
    for worker in world.workers:
        worker.config = config


def test_reminders_come_after_remind_after_then_every_remind_every(world: World):
    post_id = world.submit()
    assert world.slack.messages("U0ANNA") and not world.reminders("U0ANNA")  # the card
    world.at(MONDAY_MORNING + timedelta(hours=1, minutes=59))
    assert not world.reminders("U0ANNA")
    world.at(MONDAY_MORNING + timedelta(hours=2))
    (reminder,) = world.reminders("U0ANNA")
    assert f"draft #{post_id} by <@U0AUTHOR> has waited 2h for your decision" in sent(reminder)
    assert [b["action_id"] for b in buttons(reminder)] == [
        "gl_approve",
        "gl_request_changes",
        "gl_reject",
    ]
    assert json.loads(buttons(reminder)[0]["value"]) == {"p": post_id, "r": 1, "s": 0}
    assert len(world.reminders("U0ED1")) == 1  # a member of the step's user group
    assert not world.reminders("U0AUTHOR")  # in the group, but wrote it
    world.run()
    assert len(world.reminders("U0ANNA")) == 1  # once per round, however often workers pass

    world.engine.execute(Approve("U0ANNA", post_id, 1, 0))
    world.at(MONDAY_MORNING + timedelta(hours=3))
    assert len(world.reminders("U0ANNA")) == 1  # decided: not reminded again
    assert len(world.reminders("U0ED1")) == 2
    world.engine.execute(Approve("U0ED1", post_id, 1, 0))
    world.engine.execute(Approve("U0NINA", post_id, 1, 0))
    world.at(MONDAY_MORNING + timedelta(hours=9))
    assert len(world.reminders("U0ED1")) == 2 and not world.reminders("U0BRAND")  # Brand: none
    assert world.engine.store.nudge_at(post_id) is None
    # the reminder's card was updated in place when the step was decided: it shows the next
    # step, with no button left for this one
    (reminder,) = world.reminders("U0ANNA")
    now_shown = world.slack.message(reminder.channel, reminder.ts)
    assert "Brand" in json.dumps(now_shown.blocks)
    assert all(json.loads(b["value"])["s"] == 1 for b in buttons(now_shown))


def test_two_workers_at_once_send_each_reminder_once(world: World):
    ids = [world.submit(f"Post {n}") for n in range(12)]
    for hours in (2, 3, 4):
        world.clock.now = MONDAY_MORNING + timedelta(hours=hours)
        barrier = threading.Barrier(2)

        def work(worker: Worker, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            for _ in range(10):
                worker.tick()

        with ThreadPoolExecutor(len(world.workers)) as pool:
            for done in [pool.submit(work, w) for w in world.workers]:
                done.result()  # a worker that failed fails the test
        for post_id in ids:
            assert len(world.reminders("U0ANNA", post_id)) == hours - 1


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        # Rome moves to summer time on 29 March 2026: the morning there is 06:00 UTC, while
        # it is still afternoon in New York (already on summer time since 8 March)
        (
            datetime(2026, 3, 28, 20, 0, tzinfo=UTC),
            [
                (datetime(2026, 3, 28, 22, 0, tzinfo=UTC), {"U0NINA"}),
                (datetime(2026, 3, 29, 6, 0, tzinfo=UTC), {"U0ANNA", "U0ED1"}),
            ],
        ),
        # New York moves to summer time on 8 March 2026: its morning is 12:00 UTC; Rome's
        # (still winter time) is 07:00 UTC
        (
            datetime(2026, 3, 8, 0, 0, tzinfo=UTC),
            [
                (datetime(2026, 3, 8, 7, 0, tzinfo=UTC), {"U0ANNA", "U0ED1"}),
                (datetime(2026, 3, 8, 12, 0, tzinfo=UTC), {"U0NINA"}),
            ],
        ),
        # Rome goes back to winter time on 25 October 2026: 08:00 there is 07:00 UTC
        (
            datetime(2026, 10, 24, 21, 0, tzinfo=UTC),
            [
                (datetime(2026, 10, 24, 23, 0, tzinfo=UTC), {"U0NINA"}),
                (datetime(2026, 10, 25, 7, 0, tzinfo=UTC), {"U0ANNA", "U0ED1"}),
            ],
        ),
    ],
)
def test_quiet_hours_defer_reminders_to_each_approvers_morning(world: World, start, expected):
    world.clock.now = start
    post_id = world.submit()
    everyone = {"U0ANNA", "U0ED1", "U0NINA"}
    reminded: set[str] = set()
    for moment, who in expected:
        world.at(moment - timedelta(minutes=1))
        assert {u for u in everyone if world.reminders(u, post_id)} == reminded
        world.at(moment)
        reminded |= who
        assert {u for u in everyone if world.reminders(u, post_id)} == reminded
        # deferred, not duplicated: one reminder however many rounds the night held
        assert all(len(world.reminders(u, post_id)) == 1 for u in who)


def test_urgent_posts_ignore_quiet_hours(world: World):
    world.clock.now = datetime(2026, 3, 28, 21, 0, tzinfo=UTC)  # 22:00 in Rome
    post_id = world.submit("We are aware of the outage", urgent=True)
    world.at(world.clock.now + timedelta(hours=2))
    (reminder,) = world.reminders("U0ANNA", post_id)
    assert sent(reminder).startswith(":rotating_light: *Urgent*")
    assert "*Urgent*" in json.dumps(reminder.blocks)


def test_escalation_is_audited_and_an_escalation_approver_decides(world: World):
    post_id = world.submit()
    world.at(MONDAY_MORNING + timedelta(hours=4, minutes=59))
    assert not world.dms("U0BOSS", "Escalated")
    world.at(MONDAY_MORNING + timedelta(hours=5))
    entry = world.engine.store.history(post_id)[-1]
    assert (entry["action"], entry["actor"], entry["step_name"]) == (
        "escalate",
        "greenlight",
        "Copy review",
    )
    for user in ("U0BOSS", "U0CHIEF"):
        (dm,) = world.dms(user, "Escalated to you")
        assert f"draft #{post_id}" in sent(dm) and "after 5h" in sent(dm)
        assert buttons(dm)[0]["action_id"] == "gl_approve"
    world.run()
    assert len(world.dms("U0BOSS", "Escalated")) == 1  # once
    # the chief's approval decides the step, though its quorum is "all"
    post = world.engine.execute(Approve("U0CHIEF", post_id, 1, 0)).post
    assert post.steps[0].status == StepStatus.APPROVED and post.current_step == 1
    world.run()
    card = world.slack.messages("C0APPROVALS")[0]
    assert "escalated to <@U0BOSS>, <!subteam^S0CHIEFS>" in json.dumps(card.blocks)


def test_an_escalation_at_night_reaches_the_escalation_approvers_in_their_morning(world: World):
    """The step escalates at 22:00 in Rome, in the quiet hours: it escalates then (the
    escalation approvers may decide at once, from their queue), but their DMs wait for 08:00
    as reminders do, and go out once. (They went out at 22:00.)"""
    world.clock.now = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)  # 17:00 in Rome
    post_id = world.submit()
    world.at(datetime(2026, 3, 2, 21, 0, tzinfo=UTC))  # five hours on: 22:00 in Rome
    assert "escalate" in [e["action"] for e in world.engine.store.history(post_id)]
    assert not world.dms("U0BOSS", "Escalated") and not world.dms("U0CHIEF", "Escalated")
    world.at(datetime(2026, 3, 3, 6, 59, tzinfo=UTC))  # 07:59 in Rome
    assert not world.dms("U0BOSS", "Escalated") and not world.dms("U0CHIEF", "Escalated")
    world.at(datetime(2026, 3, 3, 7, 0, tzinfo=UTC))  # 08:00 in Rome
    for user in ("U0BOSS", "U0CHIEF"):
        (dm,) = world.dms(user, "Escalated to you")
        assert f"draft #{post_id}" in sent(dm) and buttons(dm)[0]["action_id"] == "gl_approve"
    world.at(datetime(2026, 3, 3, 12, 0, tzinfo=UTC))
    assert len(world.dms("U0BOSS", "Escalated")) == 1 and len(world.dms("U0CHIEF", "Esc")) == 1


ESCALATION_ONLY = FLOW.replace("        remind_after: 2h\n        remind_every: 1h\n", "")


def test_a_step_without_reminders_still_brings_a_night_escalation_back_in_the_morning(
    world: World,
):
    """With no reminder to come, the post leaves the nudges index once escalated; the DMs
    that wait for the morning put it back, so a worker sends them then, once each."""
    use_config(world, ESCALATION_ONLY)
    world.clock.now = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)  # 17:00 in Rome
    post_id = world.submit()
    world.at(datetime(2026, 3, 2, 21, 0, tzinfo=UTC))  # 22:00 in Rome
    assert not world.dms("U0BOSS", "Escalated")
    assert world.engine.store.nudge_at(post_id) == datetime(2026, 3, 3, 7, 0, tzinfo=UTC)
    world.at(datetime(2026, 3, 3, 7, 0, tzinfo=UTC))  # 08:00 in Rome
    world.at(datetime(2026, 3, 3, 8, 0, tzinfo=UTC))
    assert len(world.dms("U0BOSS", "Escalated to you")) == 1
    assert len(world.dms("U0CHIEF", "Escalated to you")) == 1
    assert world.engine.store.nudge_at(post_id) is None  # nothing left to do


ONE_REMINDER_AT_ESCALATION = FLOW.replace(
    "        remind_after: 2h\n        remind_every: 1h\n", "        remind_after: 5h\n"
).replace(
    "approvers: {users: [U0ANNA, U0NINA], usergroups: [S0EDITORS]}", "approvers: {users: [U0NINA]}"
)


def test_a_night_escalation_told_by_another_worker_mid_pass_still_reaches_them_in_the_morning(
    world: World,
):
    """Worker A escalates the step at 22:00 in Rome and, in the same pass, sends its approver
    (Nina, in New York, awake) her only reminder, slowly. Meanwhile worker B's notifier tells
    the escalation and leaves the escalation approvers' DMs waiting for their morning. When A
    then re-scores the post (nothing more planned: it left the index), the DMs must not be
    lost. (They were: nobody ever sent them.)"""
    use_config(world, ONE_REMINDER_AT_ESCALATION)
    world.clock.now = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)  # 17:00 in Rome
    post_id = world.submit()
    world.clock.now = datetime(2026, 3, 2, 21, 0, tzinfo=UTC)  # 22:00 in Rome, 16:00 in NY
    world.slack.delay("chat.postMessage", 2.0)  # A's reminder to Nina: B tells meanwhile
    a = threading.Thread(target=world.workers[0].tick)
    a.start()
    deadline = time.monotonic() + 10
    while "escalate" not in [e["action"] for e in world.engine.store.history(post_id)]:
        assert time.monotonic() < deadline, "worker A did not escalate"
        time.sleep(0.01)
    world.workers[1].tick()  # B's notifier: the escalation DMs wait for 08:00 in Rome
    assert world.engine.store.waiting_dms(post_id, 1, 0) == {"escalation": ["U0BOSS", "U0CHIEF"]}
    assert a.is_alive(), "A finished its pass before B told the escalation: no race shown"
    a.join()
    world.slack.clear_faults()
    assert len(world.reminders("U0NINA", post_id)) == 1 and not world.dms("U0BOSS", "Escalated")
    world.at(datetime(2026, 3, 3, 7, 0, tzinfo=UTC))  # 08:00 in Rome
    assert len(world.dms("U0BOSS", "Escalated to you")) == 1
    assert len(world.dms("U0CHIEF", "Escalated to you")) == 1


def test_an_urgent_posts_escalation_goes_out_at_once_at_night(world: World):
    world.clock.now = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)  # 17:00 in Rome
    post_id = world.submit("We are aware of the outage", urgent=True)
    world.at(datetime(2026, 3, 2, 21, 0, tzinfo=UTC))  # 22:00 in Rome
    (dm,) = world.dms("U0BOSS", "Escalated to you")
    assert f"draft #{post_id}" in sent(dm)


def test_reminders_of_an_away_approver_go_to_the_delegate(world: World):
    last_day = date(2026, 3, 3)
    ends = away_ends_at(last_day, ZoneInfo("Europe/Rome"))
    world.engine.store.set_away("U0ANNA", last_day.isoformat(), ends, "U0MARA", world.clock.now)
    post_id = world.submit()
    world.at(MONDAY_MORNING + timedelta(hours=2))
    assert not world.reminders("U0ANNA")
    (reminder,) = world.reminders("U0MARA")
    assert "for <@U0ANNA> who is away" in sent(reminder)
    post = world.engine.execute(Approve("U0MARA", post_id, 1, 0)).post
    assert post.steps[0].votes[0].on_behalf_of == "U0ANNA"
    world.at(MONDAY_MORNING + timedelta(hours=3))
    assert len(world.reminders("U0MARA")) == 1  # Anna's vote is cast: nothing more for Mara


LEFT = FLOW.replace(
    "approvers: {users: [U0ANNA, U0NINA], usergroups: [S0EDITORS]}",
    "approvers: {users: [U0ANNA, U0GONE, U0NOBODY], usergroups: [S0DELETED]}",
)


def test_people_who_cannot_be_reached_are_reported_to_admins_and_the_rest_reminded(
    world: World,
):
    world.slack.add_user("U0GONE", deleted=True)
    use_config(world, LEFT)
    post_id = world.submit()
    world.at(MONDAY_MORNING + timedelta(hours=2))
    assert len(world.reminders("U0ANNA")) == 1
    (notice,) = world.dms("U0ADMIN", "could not send the reminder")
    assert f"draft #{post_id}" in notice.text
    assert "<@U0GONE> left Slack" in notice.text
    assert "<@U0NOBODY> is not a user of this workspace" in notice.text
    assert "<!subteam^S0DELETED> is a user group that no longer exists" in notice.text
    assert "Fix the workflow file" in notice.text
    # the next round: Anna's DM fails too; admins hear about her, not again about the others
    world.slack.fail("chat.postMessage", "account_inactive", times=1)
    world.at(MONDAY_MORNING + timedelta(hours=3))
    notices = world.dms("U0ADMIN", "could not send the reminder")
    assert len(notices) == 2
    assert "<@U0ANNA> left Slack" in notices[-1].text and "U0GONE>" not in notices[-1].text


def test_a_worker_told_to_stop_gives_back_the_posts_it_has_not_reminded_yet(world: World):
    """SIGTERM while a worker sends a pass's reminders (up to 20 posts, a few DMs each): it
    stops after the post in hand, and the posts it claimed but did not look at are due again at
    once, for any worker, not after its claim's two-minute lease."""
    ids = [world.submit(f"Post {n}") for n in range(3)]
    world.clock.now = MONDAY_MORNING + timedelta(hours=2)
    job, store = reminders_job(world.gl, world.web), world.engine.store
    assert job(store, lambda: len(world.reminders("U0ANNA")) >= 1) == 1
    assert len(world.reminders("U0ANNA")) == 1
    assert job(store, lambda: False) == 2  # the same moment: well within the lease
    assert [len(world.reminders("U0ANNA", post_id)) for post_id in ids] == [1, 1, 1]


def test_a_reminder_slack_could_not_take_is_sent_once_it_is_back(world: World):
    """Slack is down (503) when a reminder round is due: the reminder is tried again a minute
    later and arrives once. (It was claimed before the DM failed, so it was lost until the
    next round, or for good with none.)"""
    post_id = world.submit()
    world.slack.server_error("chat.postMessage", times=None, status=503)
    world.at(MONDAY_MORNING + timedelta(hours=2))
    assert not world.reminders("U0ANNA")
    world.slack.clear_faults()
    world.at(MONDAY_MORNING + timedelta(hours=2, minutes=1))
    assert len(world.reminders("U0ANNA", post_id)) == 1
    world.at(MONDAY_MORNING + timedelta(hours=2, minutes=30))
    assert len(world.reminders("U0ANNA", post_id)) == 1


def test_an_escalation_dm_slack_could_not_take_is_sent_once_it_is_back(world: World):
    post_id = world.submit()
    world.slack.server_error("chat.postMessage", times=None, status=503)
    world.at(MONDAY_MORNING + timedelta(hours=5))
    assert not world.dms("U0BOSS", "Escalated") and not world.dms("U0CHIEF", "Escalated")
    world.slack.clear_faults()
    world.at(MONDAY_MORNING + timedelta(hours=5, minutes=1))
    world.at(MONDAY_MORNING + timedelta(hours=5, minutes=30))
    for user in ("U0BOSS", "U0CHIEF"):
        (dm,) = world.dms(user, "Escalated to you")
        assert f"draft #{post_id}" in sent(dm)


def test_approvers_dms_slack_could_not_take_as_the_step_started_are_sent_a_minute_later(
    world: World,
):
    """The step's card goes out, then Slack fails (503) the DMs asking each approver to decide,
    and still fails a minute later: once Slack is back a worker sends each, once. (They were
    lost: telling the entry again would have posted a second card.)"""
    world.slack.server_error("chat.postMessage", times=None, status=503, after=1)
    post_id = world.submit()
    assert len([m for m in world.slack.messages("C0APPROVALS") if f"#{post_id}" in m.text]) == 1
    approvers = ("U0ANNA", "U0ED1", "U0NINA")
    assert not [u for u in approvers if world.dms(u, f"Draft #{post_id} by")]
    world.at(world.clock.now + timedelta(minutes=1))  # tried again: Slack is still down
    assert not [u for u in approvers if world.dms(u, f"Draft #{post_id} by")]
    world.slack.clear_faults()
    world.at(world.clock.now + timedelta(minutes=1))
    world.at(world.clock.now + timedelta(minutes=30))
    for user in approvers:
        (dm,) = world.dms(user, f"Draft #{post_id} by")
        assert "waits for your decision" in sent(dm)
    assert len([m for m in world.slack.messages("C0APPROVALS") if f"#{post_id}" in m.text]) == 1


def test_the_authors_notice_slack_could_not_take_as_the_step_started_is_sent_a_minute_later(
    world: World,
):
    """The card goes out, then Slack fails (503) everything else, a minute later too: once it
    is back the author gets where the draft waits, its risk summary and the card's link, once.
    (It was logged and lost: telling the entry again would have posted a second card.)"""
    world.slack.server_error("chat.postMessage", times=None, status=503, after=1)
    post_id = world.submit("Spring sale: guaranteed results 🌸")

    def notices() -> list[Message]:
        return world.dms("U0AUTHOR", f"Draft #{post_id} (revision 1) is waiting for")

    assert notices() == []
    world.at(world.clock.now + timedelta(minutes=1))  # tried again: Slack is still down
    assert notices() == []
    world.slack.clear_faults()
    world.at(world.clock.now + timedelta(minutes=1))
    world.at(world.clock.now + timedelta(minutes=30))
    (notice,) = notices()
    assert "1 warning: legal or medical claim" in notice.text and "open the card" in notice.text
    (card,) = [m for m in world.slack.messages("C0APPROVALS") if f"#{post_id}" in m.text]
    assert card.ts.replace(".", "") in notice.text  # the link is the card's permalink


def test_a_revisions_notice_sent_a_minute_later_links_to_its_own_card(world: World):
    """Changes asked for, the author revises, and Slack fails after the new card: the notice
    that goes out once Slack is back links to the new revision's card, not to the first one
    (the approvals channel holds both)."""
    post_id = world.submit()
    world.engine.execute(RequestChanges("U0ANNA", post_id, 1, 0, "Add the dates"))
    world.run()
    world.engine.execute(Revise("U0AUTHOR", post_id, 1, text="Spring sale from May 1 🌸"))
    world.slack.server_error("chat.postMessage", times=None, status=503, after=1)
    world.run()
    world.slack.clear_faults()
    world.at(world.clock.now + timedelta(minutes=1))
    (notice,) = world.dms("U0AUTHOR", f"Draft #{post_id} (revision 2) is waiting for")
    first, second = [m for m in world.slack.messages("C0APPROVALS") if f"#{post_id}" in m.text]
    assert second.ts.replace(".", "") in notice.text
    assert first.ts.replace(".", "") not in notice.text


def test_a_request_slack_could_not_take_until_a_reminder_was_due_stands_for_that_reminder(
    world: World,
):
    """Slack fails the approvers' requests to decide as the step starts, and stays down past
    the first reminder's time: once it is back each approver gets the request alone, not the
    request and a reminder on its heels; the next round's reminder comes as usual."""
    world.slack.server_error("chat.postMessage", times=None, status=503, after=1)
    post_id = world.submit()
    world.at(MONDAY_MORNING + timedelta(hours=2))  # the first reminder is due; Slack is down
    world.slack.clear_faults()
    world.at(MONDAY_MORNING + timedelta(hours=2, minutes=1))
    for user in ("U0ANNA", "U0ED1"):
        assert len(world.dms(user, f"Draft #{post_id} by")) == 1
        assert world.reminders(user, post_id) == []
    world.at(MONDAY_MORNING + timedelta(hours=3))
    for user in ("U0ANNA", "U0ED1"):
        assert len(world.dms(user, f"Draft #{post_id} by")) == 1
        assert len(world.reminders(user, post_id)) == 1


EVERY_TWO_HOURS = FLOW.replace("remind_after: 2h\n", "remind_after: 2h30m\n").replace(
    "remind_every: 1h", "remind_every: 2h"
)


def test_a_late_request_stands_for_the_round_in_the_approvers_quiet_hours_too(world: World):
    """Nina (New York) gets the request Slack could not take at 07:30 her time, in her quiet
    hours (requests go out at once): the reminder round due then is hers too, so the end of
    her quiet hours at 08:00 does not bring a reminder half an hour after the request; the
    next round, two hours on, does."""
    use_config(world, EVERY_TWO_HOURS)
    world.slack.server_error("chat.postMessage", times=None, status=503, after=1)
    post_id = world.submit()  # 09:00 UTC, 04:00 in New York
    world.at(MONDAY_MORNING + timedelta(hours=2, minutes=30))  # the first round; Slack is down
    world.slack.clear_faults()
    world.at(MONDAY_MORNING + timedelta(hours=3, minutes=30))  # 07:30 in New York
    assert len(world.dms("U0NINA", f"Draft #{post_id} by")) == 1
    world.at(MONDAY_MORNING + timedelta(hours=4))  # 08:00: her quiet hours end
    assert world.reminders("U0NINA", post_id) == []
    world.at(MONDAY_MORNING + timedelta(hours=4, minutes=30))  # the second round
    assert len(world.reminders("U0NINA", post_id)) == 1
