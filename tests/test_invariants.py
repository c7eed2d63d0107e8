"""Property-based check of DESIGN.md's invariants 1-3, 7 and 8 over random command sequences,
run against the real engine and a real Redis."""

from __future__ import annotations

import uuid

import redis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.conftest import DEFAULT_URL, GROUPS, WORKFLOW_YAML, keyword_risk
from workflows.commands import (
    Approve,
    Cancel,
    Override,
    Reject,
    RequestChanges,
    Revise,
    Submit,
    Withdraw,
)
from workflows.configfile import parse_workflow_file
from workflows.directory import StaticDirectory
from workflows.engine import Engine
from workflows.models import PostState, StepStatus
from workflows.outcomes import Accepted, Refusal

ACTORS = [
    "U0AUTHOR",
    "U0WRITER",
    "U0ANNA",
    "U0LUCA",
    "U0ED1",
    "U0BRAND",
    "U0BRAND2",
    "U0LEGAL",
    "U0ADMIN",
    "U0NOBODY",
]
TEXTS = ["Spring is here 🌸", "Saldi di primavera!", "RISKY claim", "Nuovo prodotto\nin arrivo"]
REASONS = ["", "Off-brand", "Check the date"]
CONFIG = parse_workflow_file(WORKFLOW_YAML, "test-workflow.yaml")
DIRECTORY = StaticDirectory(GROUPS)
actors = st.sampled_from(ACTORS)


class ApprovalMachine(RuleBasedStateMachine):
    redis_url = DEFAULT_URL  # set by the test from the session's Redis

    def __init__(self) -> None:
        super().__init__()
        self.client = redis.Redis.from_url(self.redis_url)
        self.team = "T" + uuid.uuid4().hex[:10].upper()
        self.engine = Engine(self.client, self.team, CONFIG, DIRECTORY, keyword_risk)
        self.posts: list[str] = []
        self.accepted: dict[str, int] = {}
        self.histories: dict[str, list[str]] = {}
        # a neighbour workspace that nothing in this run may touch
        self.neighbour = Engine(self.client, self.team + "N", CONFIG, DIRECTORY, keyword_risk)
        self.neighbour_post = self.neighbour.execute(Submit("U0AUTHOR", "Neighbour")).post

    def teardown(self) -> None:
        for team in (self.team, self.team + "N"):
            for key in self.client.scan_iter(match=f"gl:{{{team}}}:*", count=1000):
                self.client.delete(key)
        self.client.close()

    def _run(self, command) -> None:
        post_id = getattr(command, "post_id", None)
        before = self.engine.post(post_id) if post_id else None
        outcome = self.engine.execute(command)
        if isinstance(outcome, Refusal):
            assert outcome.message
            if post_id:  # a refusal changes nothing
                assert self.engine.post(post_id) == before
            return
        assert isinstance(outcome, Accepted)
        post = outcome.post
        if isinstance(command, Submit):
            self.posts.append(post.id)
        if isinstance(command, Approve | Reject | RequestChanges):
            # invariant 2: a decision counts only for the revision it was given on
            assert command.revision == post.revision.number
            assert before is not None and before.current_step == command.step
        self.accepted[post.id] = self.accepted.get(post.id, 0) + 1
        assert self.engine.post(post.id) == post

    @rule(author=st.sampled_from(["U0AUTHOR", "U0WRITER", "U0ANNA"]), text=st.sampled_from(TEXTS))
    def submit(self, author: str, text: str) -> None:
        self._run(Submit(author, text))

    @precondition(lambda self: self.posts)
    @rule(
        data=st.data(),
        actor=actors,
        kind=st.sampled_from(["approve", "approve", "approve", "reject", "changes"]),
        stale=st.booleans(),
        reason=st.sampled_from(REASONS),
    )
    def decide(self, data, actor: str, kind: str, stale: bool, reason: str) -> None:
        post = self.engine.post(data.draw(st.sampled_from(self.posts)))
        revision = post.revision.number - (1 if stale and post.revision.number > 1 else 0)
        step = post.current_step if post.current_step is not None else 0
        step = data.draw(st.sampled_from([step, step, max(0, step - 1), min(2, step + 1)]))
        command = {
            "approve": Approve(actor, post.id, revision, step),
            "reject": Reject(actor, post.id, revision, step, reason),
            "changes": RequestChanges(actor, post.id, revision, step, reason),
        }[kind]
        self._run(command)

    @precondition(lambda self: self.posts)
    @rule(data=st.data(), actor=actors, text=st.sampled_from(TEXTS))
    def revise(self, data, actor: str, text: str) -> None:
        post = self.engine.post(data.draw(st.sampled_from(self.posts)))
        self._run(Revise(actor, post.id, post.revision.number, text=text))

    @precondition(lambda self: self.posts)
    @rule(
        data=st.data(),
        actor=actors,
        kind=st.sampled_from(["withdraw", "override", "cancel"]),
        reason=st.sampled_from(REASONS),
    )
    def close(self, data, actor: str, kind: str, reason: str) -> None:
        post = self.engine.post(data.draw(st.sampled_from(self.posts)))
        rev = post.revision.number
        command = {
            "withdraw": Withdraw(actor, post.id, rev),
            "override": Override(actor, post.id, rev, reason),
            "cancel": Cancel(actor, post.id, rev, reason or None),
        }[kind]
        self._run(command)

    @invariant()
    def every_change_has_exactly_one_audit_entry_and_the_log_only_grows(self) -> None:
        for post_id in self.posts:
            history = self.engine.store.history(post_id)
            assert len(history) == self.accepted[post_id]
            ids = [entry["id"] for entry in history]
            assert ids[: len(self.histories.get(post_id, []))] == self.histories.get(post_id, [])
            self.histories[post_id] = ids
            assert history[-1]["to"] == self.engine.post(post_id).state

    @invariant()
    def only_the_right_people_decided_and_quorum_holds(self) -> None:
        for post in self.engine.store.get_many(self.posts):
            voters_so_far: set[str] = set()
            for run in post.steps:
                approvers = set(run.users).union(*(DIRECTORY.members(g) for g in run.usergroups))
                for vote in run.votes:
                    assert vote.actor in approvers  # invariant 3
                    assert vote.actor != post.author  # no self-approval by default
                    assert vote.actor not in voters_so_far  # distinct approvers
                approved = [v.actor for v in run.approvals]
                assert len(approved) == len(set(approved))
                if run.status == StepStatus.APPROVED:
                    quorum = run.quorum if run.quorum != "all" else len(approvers - {post.author})
                    assert len(approved) >= quorum
                voters_so_far |= set(approved)
            if post.state == PostState.APPROVED:  # invariant 1: the approved text is the last one
                assert all(
                    s.status in (StepStatus.APPROVED, StepStatus.SKIPPED, StepStatus.OVERRIDDEN)
                    for s in post.steps
                )
                overridden = any(s.status == StepStatus.OVERRIDDEN for s in post.steps)
                assert overridden or post.revision.number == len(post.revisions)

    @invariant()
    def indexes_match_the_posts(self) -> None:
        store = self.engine.store
        by_state = {state: set(store.ids_by_state(state, limit=1000)) for state in PostState}
        waiting = set(store.ids_waiting_for(["U0ANNA"], limit=1000))
        for post in store.get_many(self.posts):
            assert {s for s, ids in by_state.items() if post.id in ids} == {post.state}
            expected = post.state == PostState.IN_REVIEW and post.current_step == 0
            assert (post.id in waiting) == expected

    @invariant()
    def the_neighbour_workspace_is_untouched(self) -> None:
        assert self.neighbour.post(self.neighbour_post.id) == self.neighbour_post
        assert len(self.neighbour.store.recent_activity()) == 1


def test_approval_invariants(redis_url: str) -> None:
    ApprovalMachine.redis_url = redis_url
    run_state_machine_as_test(
        ApprovalMachine,
        settings=settings(
            max_examples=40,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
