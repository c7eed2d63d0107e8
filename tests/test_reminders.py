"""Reminders, escalation, quiet hours and delegation in the domain: the workflow file's keys,
the `nudges` index kept by transitions, claims shared by workers, and the decision rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import GROUPS, keyword_risk
from workflows.commands import Approve, Escalate, Reject, Revise, Submit
from workflows.configfile import ConfigError, parse_workflow_file
from workflows.directory import StaticDirectory
from workflows.engine import Engine
from workflows.models import PostState, StepStatus
from workflows.outcomes import Refusal, RefusalCode
from workflows.reminders import GREENLIGHT, QuietHours, away_ends_at

ROME = ZoneInfo("Europe/Rome")
NEW_YORK = ZoneInfo("America/New_York")

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
        approvers: {users: [U0ANNA, U0LUCA]}
        quorum: all
        remind_after: 2h
        remind_every: 1h
        escalate_after: 1d
        escalate_to: {users: [U0BOSS, U0AUTHOR], usergroups: [S0CHIEFS]}
      - name: Brand
        approvers: {users: [U0BRAND]}
        escalate_after: 30m
        escalate_to: {users: [U0ANNA]}
      - name: Legal
        approvers: {users: [U0LEGAL]}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_workflow_file(text, "flow.yaml")
    return [str(p) for p in caught.value.problems]


@pytest.fixture
def config():
    return parse_workflow_file(FLOW, "flow.yaml")


@pytest.fixture
def engine(client, team, config, clock) -> Engine:
    groups = {**GROUPS, "S0CHIEFS": {"U0CHIEF"}}
    return Engine(client, team, config, StaticDirectory(groups), keyword_risk, clock)


def submit(engine: Engine, text: str = "Spring sale") -> str:
    return engine.execute(Submit("U0AUTHOR", text)).post.id


# -- the workflow file -----------------------------------------------------------------------


def test_reminder_keys_are_read_as_written(config):
    step = config.workflows[0].steps[0]
    assert step.remind_after == timedelta(hours=2) and step.remind_every == timedelta(hours=1)
    assert step.escalate_to.usergroups == ["S0CHIEFS"]
    assert config.quiet_hours == (time(20, 0), time(8, 0)) and config.quiet_weekends is False


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("        remind_after: 2h\n", ""),
            "flow.yaml:11: workflows[0].steps[0]: remind_every needs remind_after (when the "
            "first reminder goes), e.g. remind_after: 2h",
        ),
        (
            ("        escalate_after: 1d\n", ""),
            "flow.yaml:11: workflows[0].steps[0]: escalate_to needs escalate_after (how long "
            "the step waits before it escalates), e.g. escalate_after: 1d",
        ),
        (
            ("        escalate_to: {users: [U0BOSS, U0AUTHOR], usergroups: [S0CHIEFS]}\n", ""),
            "flow.yaml:11: workflows[0].steps[0]: escalate_after needs escalate_to (the users or "
            "usergroups who may then decide the step)",
        ),
        (
            ("remind_every: 1h", "remind_every: hourly"),
            "flow.yaml:15: workflows[0].steps[0].remind_every: must be a duration such as 30m, "
            "2h, 1d or 1h30m, not 'hourly'",
        ),
        (
            ('quiet_hours: "20:00-08:00"', 'quiet_hours: "8pm-8am"'),
            "flow.yaml:5: quiet_hours: must be a time of day such as \"09:00\", not '8pm'",
        ),
        (
            ("{users: [U0BOSS, U0AUTHOR], usergroups: [S0CHIEFS]}", "{users: []}"),
            "flow.yaml:11: workflows[0].steps[0]: escalate_to lists nobody: add users or "
            "usergroups",
        ),
    ],
)
def test_reminder_keys_that_make_no_sense_are_explained(change, expected):
    assert problems(FLOW.replace(*change)) == [expected]


def test_the_plan_is_snapshot_when_the_chain_is_built(engine, config):
    post = engine.post(submit(engine))
    plan = post.steps[0].nudges
    assert plan.remind_after == timedelta(hours=2) and plan.escalate_users == ["U0BOSS", "U0AUTHOR"]
    assert post.steps[2].nudges is None  # Legal plans nothing
    engine.config = parse_workflow_file(FLOW.replace("remind_after: 2h", "remind_after: 9h"))
    assert engine.post(post.id).steps[0].nudges.remind_after == timedelta(hours=2)


# -- the nudges index ------------------------------------------------------------------------


def test_the_index_holds_the_first_nudge_and_follows_the_steps(engine, clock):
    post_id = submit(engine)
    store = engine.store
    start = clock.now
    assert store.nudge_at(post_id) == start + timedelta(hours=2)  # reminder before escalation
    ids, lease_end = store.claim_nudges(start + timedelta(hours=2), 10, 60)
    assert ids == [post_id]
    assert store.rescore_nudge(post_id, lease_end, start + timedelta(hours=3))
    clock.advance(hours=2, minutes=30)
    engine.execute(Approve("U0ANNA", post_id, 1, 0))  # same step: the worker's score stays
    assert store.nudge_at(post_id) == start + timedelta(hours=3)
    engine.execute(Approve("U0LUCA", post_id, 1, 0))  # Brand starts: escalates after 30m
    assert store.nudge_at(post_id) == clock.now + timedelta(minutes=30)
    engine.execute(Approve("U0BRAND", post_id, 1, 1))  # Legal plans nothing
    assert store.nudge_at(post_id) is None


def test_a_worker_late_with_its_rescore_does_not_undo_a_new_step(engine, clock):
    post_id = submit(engine)
    store = engine.store
    clock.advance(hours=2)
    _, lease_end = store.claim_nudges(clock.now, 10, 60)
    engine.execute(Approve("U0ANNA", post_id, 1, 0))
    engine.execute(Approve("U0LUCA", post_id, 1, 0))
    assert not store.rescore_nudge(post_id, lease_end, clock.now + timedelta(hours=1))
    assert store.nudge_at(post_id) == clock.now + timedelta(minutes=30)


def test_two_claims_at_once_take_each_post_once(engine, clock):
    ids = {submit(engine, f"Post {n}") for n in range(6)}
    clock.advance(hours=3)
    first, _ = engine.store.claim_nudges(clock.now, 4, 60)
    second, _ = engine.store.claim_nudges(clock.now, 4, 60)
    assert len(first) == 4 and len(second) == 2 and set(first) | set(second) == ids
    assert engine.store.claim_nudges(clock.now, 4, 60)[0] == []  # all leased


def test_each_round_goes_to_each_person_once(engine):
    post_id = submit(engine)
    store = engine.store
    assert store.claim_reminder(post_id, 1, 0, "U0ANNA", 1)
    assert not store.claim_reminder(post_id, 1, 0, "U0ANNA", 1)
    assert store.claim_reminder(post_id, 1, 0, "U0LUCA", 1)
    assert not store.claim_reminder(post_id, 1, 0, "U0ANNA", 1)
    assert store.claim_reminder(post_id, 1, 0, "U0ANNA", 3)
    assert not store.claim_reminder(post_id, 1, 0, "U0ANNA", 2)  # an older round: no


# -- escalation ------------------------------------------------------------------------------


def test_escalation_is_audited_once_and_only_when_due(engine, clock):
    post_id = submit(engine)
    early = engine.execute(Escalate(GREENLIGHT, post_id, 1, 0))
    assert isinstance(early, Refusal) and early.code == RefusalCode.NOT_ALLOWED
    clock.advance(days=1)
    escalated = engine.execute(Escalate(GREENLIGHT, post_id, 1, 0))
    assert escalated.post.steps[0].escalated_at == clock.now
    again = engine.execute(Escalate(GREENLIGHT, post_id, 1, 0))
    assert isinstance(again, Refusal) and again.code == RefusalCode.ALREADY_DECIDED
    entry = engine.store.history(post_id)[-1]
    assert entry["action"] == "escalate" and entry["actor"] == "greenlight"
    assert entry["step_name"] == "Copy review" and entry["reason"] == "no decision after 1d"
    assert entry["to"] == "in_review"


def test_an_escalation_approver_decides_the_step_outright(engine, clock):
    post_id = submit(engine)
    before = engine.execute(Approve("U0BOSS", post_id, 1, 0))
    assert isinstance(before, Refusal) and before.code == RefusalCode.NOT_AN_APPROVER
    clock.advance(days=1)
    engine.execute(Escalate(GREENLIGHT, post_id, 1, 0))
    author = engine.execute(Approve("U0AUTHOR", post_id, 1, 0))  # listed, but wrote it
    assert isinstance(author, Refusal) and author.code == RefusalCode.AUTHOR_CANNOT_APPROVE
    post = engine.execute(Approve("U0CHIEF", post_id, 1, 0)).post  # via S0CHIEFS
    assert post.steps[0].status == StepStatus.APPROVED  # quorum "all" did not matter
    assert post.current_step == 1


def test_escalated_steps_and_delegations_show_in_the_queue(engine, clock):
    post_id = submit(engine)
    assert [p.id for p in engine.queue_for("U0CHIEF")] == []
    clock.advance(days=1)
    engine.execute(Escalate(GREENLIGHT, post_id, 1, 0))
    assert [p.id for p in engine.queue_for("U0CHIEF")] == [post_id]  # via S0CHIEFS
    assert [p.id for p in engine.queue_for("U0BOSS")] == [post_id]
    assert engine.queue_for("U0AUTHOR") == []  # listed, but wrote it
    away(engine, "U0LUCA", "U0MARA")
    assert [p.id for p in engine.queue_for("U0MARA")] == [post_id]
    engine.execute(Approve("U0BOSS", post_id, 1, 0))
    assert engine.queue_for("U0CHIEF") == [] and engine.queue_for("U0MARA") == []


def test_an_escalation_approver_who_approved_an_earlier_step_may_not(engine, clock):
    post_id = submit(engine)
    engine.execute(Approve("U0ANNA", post_id, 1, 0))
    engine.execute(Approve("U0LUCA", post_id, 1, 0))
    clock.advance(hours=1)
    engine.execute(Escalate(GREENLIGHT, post_id, 1, 1))
    refused = engine.execute(Approve("U0ANNA", post_id, 1, 1))
    assert refused.code == RefusalCode.APPROVED_EARLIER_STEP


def test_an_escalation_approver_can_reject(engine, clock):
    post_id = submit(engine)
    clock.advance(days=2)
    engine.execute(Escalate(GREENLIGHT, post_id, 1, 0))
    post = engine.execute(Reject("U0BOSS", post_id, 1, 0, "Off-brand")).post
    assert post.state == PostState.REJECTED


def test_a_new_revision_starts_a_new_plan(engine, clock):
    post_id = submit(engine)
    clock.advance(days=1)
    engine.execute(Escalate(GREENLIGHT, post_id, 1, 0))
    clock.advance(hours=1)
    post = engine.execute(Revise("U0AUTHOR", post_id, 1, text="Spring sale!")).post
    assert post.steps[0].escalated_at is None
    assert engine.store.nudge_at(post_id) == clock.now + timedelta(hours=2)


# -- delegation ------------------------------------------------------------------------------


def away(engine: Engine, user: str, delegate: str | None, days: int = 3) -> None:
    last = (engine.clock() + timedelta(days=days)).date()
    engine.store.set_away(
        user, last.isoformat(), away_ends_at(last, ROME), delegate, engine.clock()
    )


def test_a_delegate_decides_for_the_away_approver(engine):
    post_id = submit(engine)
    away(engine, "U0LUCA", "U0MARA")
    post = engine.execute(Approve("U0MARA", post_id, 1, 0)).post
    vote = post.steps[0].votes[0]
    assert (vote.actor, vote.on_behalf_of, vote.voter) == ("U0MARA", "U0LUCA", "U0LUCA")
    assert post.current_step == 0  # quorum "all": Anna still to decide
    entry = engine.store.history(post_id)[-1]
    assert (entry["actor"], entry["for"]) == ("U0MARA", "U0LUCA")
    again = engine.execute(Approve("U0MARA", post_id, 1, 0))
    assert isinstance(again, Refusal)
    assert engine.execute(Approve("U0ANNA", post_id, 1, 0)).post.current_step == 1


def test_a_delegate_who_wrote_the_post_may_not_approve_it(engine):
    post_id = submit(engine)
    away(engine, "U0LUCA", "U0AUTHOR")
    refused = engine.execute(Approve("U0AUTHOR", post_id, 1, 0))
    assert refused.code == RefusalCode.AUTHOR_CANNOT_APPROVE


def test_a_delegate_keeps_the_one_person_one_step_rule(engine):
    post_id = submit(engine)
    engine.execute(Approve("U0ANNA", post_id, 1, 0))
    engine.execute(Approve("U0LUCA", post_id, 1, 0))
    away(engine, "U0BRAND", "U0ANNA")  # Anna approved Copy review herself
    refused = engine.execute(Approve("U0ANNA", post_id, 1, 1))
    assert refused.code == RefusalCode.APPROVED_EARLIER_STEP


def test_delegation_ends_with_back_or_at_the_end_of_the_day(engine, clock):
    post_id = submit(engine)
    away(engine, "U0LUCA", "U0MARA")
    assert engine.store.clear_away("U0LUCA", clock.now)
    assert not engine.store.clear_away("U0LUCA", clock.now)
    assert engine.execute(Approve("U0MARA", post_id, 1, 0)).code == RefusalCode.NOT_AN_APPROVER
    away(engine, "U0LUCA", "U0MARA", days=0)  # until the end of today, Rome time
    clock.now = datetime(2026, 3, 1, 22, 59, tzinfo=UTC)  # 23:59 in Rome
    assert engine.store.absent_for("U0MARA", clock.now) == ("U0LUCA",)
    clock.now = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)  # midnight in Rome
    assert engine.store.absent_for("U0MARA", clock.now) == ()
    assert engine.execute(Approve("U0MARA", post_id, 1, 0)).code == RefusalCode.NOT_AN_APPROVER
    actions = [e["action"] for e in engine.store.recent_activity(10) if "post" not in e]
    assert actions == ["away", "back", "away"][::-1]


# -- quiet hours, across daylight-saving changes ---------------------------------------------

QUIET = QuietHours((time(20, 0), time(8, 0)))


@pytest.mark.parametrize(
    ("moment", "zone", "ends"),
    [
        # Rome, the night clocks go forward (29 March 2026): 08:00 CEST is 06:00 UTC
        ("2026-03-28T21:00+00:00", ROME, "2026-03-29T06:00+00:00"),
        # Rome, the night clocks go back (25 October 2026): 08:00 CET is 07:00 UTC
        ("2026-10-24T20:00+00:00", ROME, "2026-10-25T07:00+00:00"),
        # New York, spring forward (8 March 2026): 08:00 EDT is 12:00 UTC
        ("2026-03-08T04:00+00:00", NEW_YORK, "2026-03-08T12:00+00:00"),
        # New York, fall back (1 November 2026): 08:00 EST is 13:00 UTC
        ("2026-11-01T05:30+00:00", NEW_YORK, "2026-11-01T13:00+00:00"),
        # the same instant is daytime in New York (16:00) and night in Rome (22:00)
        ("2026-03-28T20:00+00:00", NEW_YORK, None),
        ("2026-03-28T20:00+00:00", ROME, "2026-03-29T06:00+00:00"),
    ],
)
def test_quiet_hours_end_in_each_persons_morning(moment, zone, ends):
    result = QUIET.ends(datetime.fromisoformat(moment), zone)
    assert result == (datetime.fromisoformat(ends) if ends else None)


def test_quiet_weekends_wait_for_monday_morning():
    quiet = QuietHours((time(20, 0), time(8, 0)), weekends=True)
    friday_night = datetime(2026, 3, 27, 21, 0, tzinfo=UTC)  # 22:00 in Rome
    assert quiet.ends(friday_night, ROME) == datetime(2026, 3, 30, 6, 0, tzinfo=UTC)  # CEST
    assert quiet.ends(datetime(2026, 3, 30, 9, 0, tzinfo=UTC), ROME) is None
    weekends_only = QuietHours(weekends=True)
    assert weekends_only.ends(datetime(2026, 3, 28, 12, 0, tzinfo=UTC), NEW_YORK) == datetime(
        2026, 3, 30, 4, 0, tzinfo=UTC
    )


def test_away_lasts_to_the_end_of_the_day_in_the_persons_zone():
    assert away_ends_at(date(2026, 3, 28), ROME) == datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    assert away_ends_at(date(2026, 3, 29), ROME) == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)
    assert away_ends_at(date(2026, 3, 7), NEW_YORK) == datetime(2026, 3, 8, 5, 0, tzinfo=UTC)
