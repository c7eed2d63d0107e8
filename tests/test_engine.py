"""The approval engine against a real Redis: the life of a post and the refusals people see."""

from __future__ import annotations

from tests.conftest import GROUPS, keyword_risk
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
from workflows.outcomes import Accepted, Refusal, RefusalCode

AUTHOR = "U0AUTHOR"


def accepted(outcome) -> Accepted:
    assert isinstance(outcome, Accepted), outcome
    return outcome


def refused(outcome, code: RefusalCode) -> Refusal:
    assert isinstance(outcome, Refusal), outcome
    assert outcome.code == code, outcome
    return outcome


def draft(engine: Engine, text: str = "Our spring collection is here 🌸", **kw) -> str:
    return accepted(engine.execute(Submit(actor=AUTHOR, text=text, **kw))).post.id


def test_submit_routes_to_the_first_matching_workflow_and_opens_step_one(engine):
    outcome = accepted(engine.execute(Submit(actor=AUTHOR, text="Hello", channel="C0DRAFTS")))
    post = outcome.post
    assert post.workflow == "standard"
    assert post.state == PostState.IN_REVIEW
    assert post.revision.targets == ["announcements"]
    assert [s.status for s in post.steps] == [
        StepStatus.ACTIVE,
        StepStatus.WAITING,
        StepStatus.SKIPPED,
    ]
    assert [e.action for e in outcome.events] == ["submit", "step_started"]
    press = accepted(engine.execute(Submit(actor=AUTHOR, text="Statement", targets=("press",))))
    assert press.post.workflow == "press"
    assert engine.store.get(post.id) == post


def test_two_step_chain_approved_by_the_right_people(engine):
    post_id = draft(engine)
    accepted(engine.execute(Approve("U0ANNA", post_id, 1, 0)))
    post = engine.post(post_id)
    assert post.current_step == 1 and post.state == PostState.IN_REVIEW
    # quorum "all": the Brand step needs both brand approvers
    accepted(engine.execute(Approve("U0BRAND", post_id, 1, 1)))
    assert engine.post(post_id).state == PostState.IN_REVIEW
    final = accepted(engine.execute(Approve("U0BRAND2", post_id, 1, 1)))
    assert final.post.state == PostState.APPROVED
    assert final.post.revision.text == "Our spring collection is here 🌸"
    actions = [(e["action"], e["actor"], e["to"]) for e in engine.store.history(post_id)]
    assert actions == [
        ("submit", AUTHOR, "in_review"),
        ("approve", "U0ANNA", "in_review"),
        ("approve", "U0BRAND", "in_review"),
        ("approve", "U0BRAND2", "approved"),
    ]
    assert engine.store.ids_due(final.post.updated_at) == [post_id]


def test_high_risk_drafts_get_the_conditional_legal_step(engine):
    post_id = draft(engine, "RISKY: this cream cures everything")
    for actor, step in (("U0ED1", 0), ("U0BRAND", 1), ("U0BRAND2", 1)):
        accepted(engine.execute(Approve(actor, post_id, 1, step)))
    post = engine.post(post_id)
    assert post.state == PostState.IN_REVIEW and post.steps[2].status == StepStatus.ACTIVE
    refused(engine.execute(Approve("U0ANNA", post_id, 1, 2)), RefusalCode.NOT_YOUR_STEP)
    assert accepted(engine.execute(Approve("U0LEGAL", post_id, 1, 2))).post.state == "approved"


def test_author_cannot_approve_own_post_even_as_group_member(engine):
    post_id = draft(engine)
    refusal = refused(
        engine.execute(Approve(AUTHOR, post_id, 1, 0)), RefusalCode.AUTHOR_CANNOT_APPROVE
    )
    assert "U0ANNA" in refusal.message and "S0EDITORS" in refusal.can_act
    assert engine.post(post_id).steps[0].votes == []


def test_unauthorised_clicks_change_nothing_and_say_who_can_act(engine):
    post_id = draft(engine)
    stranger = refused(
        engine.execute(Approve("U0NOBODY", post_id, 1, 0)), RefusalCode.NOT_AN_APPROVER
    )
    assert "Copy review" in stranger.message and "members of S0EDITORS" in stranger.message
    later = refused(engine.execute(Approve("U0BRAND", post_id, 1, 0)), RefusalCode.NOT_YOUR_STEP)
    assert "Brand" in later.message
    refused(engine.execute(Reject("U0NOBODY", post_id, 1, 0, "no")), RefusalCode.NOT_AN_APPROVER)
    assert len(engine.store.history(post_id)) == 1


def test_a_decided_step_says_who_decided_it(engine):
    post_id = draft(engine)
    accepted(engine.execute(Approve("U0ANNA", post_id, 1, 0)))
    refusal = refused(engine.execute(Approve("U0LUCA", post_id, 1, 0)), RefusalCode.ALREADY_DECIDED)
    assert "U0ANNA" in refusal.message
    refused(engine.execute(Approve("U0ANNA", post_id, 1, 0)), RefusalCode.ALREADY_DECIDED)
    assert len(engine.store.history(post_id)) == 2


def test_double_click_counts_once(engine):
    post_id = draft(engine)
    accepted(engine.execute(Approve("U0ANNA", post_id, 1, 0)))
    accepted(engine.execute(Approve("U0BRAND", post_id, 1, 1)))
    again = refused(engine.execute(Approve("U0BRAND", post_id, 1, 1)), RefusalCode.ALREADY_VOTED)
    assert "1 more approval" in again.message
    assert len(engine.post(post_id).steps[1].votes) == 1


def test_one_person_counts_in_one_step_only(client, team, clock):
    config = parse_workflow_file(
        """
approvals_channel: C0APPROVALS
targets: {site: {type: slack, channel: C0SITE}}
workflows:
  - name: small team
    targets: [site]
    steps:
      - {name: First look, approvers: {users: [U0A, U0B]}}
      - {name: Second look, approvers: {users: [U0A, U0B]}}
"""
    )
    engine = Engine(client, team, config, StaticDirectory(), keyword_risk, clock)
    post_id = draft(engine)
    accepted(engine.execute(Approve("U0A", post_id, 1, 0)))
    refused(engine.execute(Approve("U0A", post_id, 1, 1)), RefusalCode.APPROVED_EARLIER_STEP)
    assert accepted(engine.execute(Approve("U0B", post_id, 1, 1))).post.state == "approved"


def test_reject_needs_a_reason_and_finishes_the_post(engine, client):
    post_id = draft(engine)
    refused(engine.execute(Reject("U0ANNA", post_id, 1, 0, "  ")), RefusalCode.INVALID)
    outcome = accepted(engine.execute(Reject("U0ANNA", post_id, 1, 0, "Off-brand tone")))
    assert outcome.post.state == PostState.REJECTED
    assert outcome.post.closing_reason == "Off-brand tone"
    refused(engine.execute(Approve("U0LUCA", post_id, 1, 0)), RefusalCode.POST_FINISHED)
    refused(engine.execute(Revise(AUTHOR, post_id, 1, text="new")), RefusalCode.POST_FINISHED)
    assert engine.store.history(post_id)[-1]["reason"] == "Off-brand tone"
    ttl = client.ttl(engine.store.keys.post(post_id))
    assert 89 * 86400 < ttl <= 90 * 86400
    assert client.ttl(engine.store.keys.post_audit(post_id)) == ttl
    assert engine.store.ids_waiting_for(["U0ANNA"]) == []


def test_finished_posts_leave_the_state_index_after_the_retention_time(engine, clock):
    old = draft(engine)
    accepted(engine.execute(Reject("U0ANNA", old, 1, 0, "Off-brand tone")))
    clock.advance(days=45)
    recent = draft(engine)
    accepted(engine.execute(Reject("U0ANNA", recent, 1, 0, "Too long")))
    assert set(engine.store.ids_by_state(PostState.REJECTED)) == {old, recent}
    clock.advance(days=46)  # 91 days after the first rejection, 46 after the second
    newest = draft(engine)
    accepted(engine.execute(Reject("U0ANNA", newest, 1, 0, "Typo")))
    assert set(engine.store.ids_by_state(PostState.REJECTED)) == {recent, newest}


def test_request_changes_then_revision_restarts_the_chain(engine, client):
    post_id = draft(engine)
    accepted(engine.execute(Approve("U0ANNA", post_id, 1, 0)))
    refused(engine.execute(RequestChanges("U0BRAND", post_id, 1, 1, "")), RefusalCode.INVALID)
    accepted(engine.execute(RequestChanges("U0BRAND", post_id, 1, 1, "Shorter, please")))
    assert engine.post(post_id).state == PostState.DRAFT
    assert client.ttl(engine.store.keys.post(post_id)) == -1  # live posts never expire
    refused(engine.execute(Revise("U0ANNA", post_id, 1, text="x")), RefusalCode.NOT_ALLOWED)
    revised = accepted(engine.execute(Revise(AUTHOR, post_id, 1, text="Spring is here 🌸")))
    post = revised.post
    assert post.revision.number == 2 and post.state == PostState.IN_REVIEW
    assert post.current_step == 0 and all(not s.votes for s in post.steps)
    # the old card's buttons no longer count
    refused(engine.execute(Approve("U0LUCA", post_id, 1, 0)), RefusalCode.OUTDATED_REVISION)
    accepted(engine.execute(Approve("U0LUCA", post_id, 2, 0)))


def test_editing_while_in_review_voids_approvals(engine):
    post_id = draft(engine)
    accepted(engine.execute(Approve("U0ANNA", post_id, 1, 0)))
    accepted(engine.execute(Revise(AUTHOR, post_id, 1, text="Fixed typo")))
    refused(
        engine.execute(Revise(AUTHOR, post_id, 2, text="Fixed typo")), RefusalCode.NOTHING_CHANGED
    )
    post = engine.post(post_id)
    assert post.current_step == 0 and post.steps[0].votes == []
    assert [r.text for r in post.revisions] == ["Our spring collection is here 🌸", "Fixed typo"]


def test_approval_after_a_change_to_risky_text_adds_the_legal_step(engine):
    post_id = draft(engine)
    accepted(engine.execute(Revise(AUTHOR, post_id, 1, text="RISKY now")))
    assert engine.post(post_id).steps[2].status == StepStatus.WAITING


def test_withdraw_and_cancel_permissions(engine):
    post_id = draft(engine)
    refused(engine.execute(Withdraw("U0ANNA", post_id, 1)), RefusalCode.NOT_ALLOWED)
    assert accepted(engine.execute(Withdraw(AUTHOR, post_id, 1))).post.state == "withdrawn"
    other = draft(engine)
    refused(engine.execute(Cancel("U0ANNA", other, 1)), RefusalCode.NOT_ALLOWED)
    done = accepted(engine.execute(Cancel("U0ADMIN", other, 1, "Campaign pulled")))
    assert done.post.state == PostState.CANCELLED


def test_override_is_admin_only_and_needs_a_justification(engine):
    post_id = draft(engine)
    refused(engine.execute(Override("U0ANNA", post_id, 1, "urgent")), RefusalCode.NOT_ALLOWED)
    refused(engine.execute(Override("U0ADMIN", post_id, 1, " ")), RefusalCode.INVALID)
    outcome = accepted(engine.execute(Override("U0ADMIN", post_id, 1, "Crisis statement")))
    assert outcome.post.state == PostState.APPROVED
    assert outcome.post.steps[0].status == StepStatus.OVERRIDDEN
    last = engine.store.history(post_id)[-1]
    assert (last["action"], last["actor"], last["reason"]) == (
        "override",
        "U0ADMIN",
        "Crisis statement",
    )


def test_bad_submissions_are_refused_with_a_reason(engine):
    assert "empty" in refused(engine.execute(Submit(AUTHOR, "   ")), RefusalCode.INVALID).message
    unknown = refused(engine.execute(Submit(AUTHOR, "x", targets=("tiktok",))), RefusalCode.INVALID)
    assert "tiktok" in unknown.message and "announcements" in unknown.message
    refused(engine.execute(Submit(AUTHOR, "x", workflow="nope")), RefusalCode.INVALID)
    refused(engine.execute(Approve("U0ANNA", "999", 1, 0)), RefusalCode.NOT_FOUND)


def test_replayed_submission_returns_the_same_post(engine):
    first = accepted(engine.execute(Submit(AUTHOR, "Hi", source_key="Ev123")))
    again = engine.execute(Submit(AUTHOR, "Hi", source_key="Ev123"))
    assert isinstance(again, Accepted) and again.replayed and again.post.id == first.post.id
    assert again.events == ()
    assert len(engine.store.recent_activity()) == 1


def test_workspaces_never_see_each_other(client, team, config, clock):
    engine_a = Engine(client, team, config, StaticDirectory(GROUPS), keyword_risk, clock)
    engine_b = Engine(client, team + "B", config, StaticDirectory(GROUPS), keyword_risk, clock)
    try:
        post_id = draft(engine_a)
        refused(engine_b.execute(Approve("U0ANNA", post_id, 1, 0)), RefusalCode.NOT_FOUND)
        assert engine_b.queue_for("U0ANNA") == []
        assert engine_a.post(post_id).steps[0].votes == []
    finally:
        for key in client.scan_iter(match=f"gl:{{{team}B}}:*"):
            client.delete(key)


def test_queue_shows_what_waits_for_me_oldest_first(engine, clock):
    first = draft(engine, "one")
    clock.advance(minutes=5)
    second = draft(engine, "two")
    assert [p.id for p in engine.queue_for("U0ANNA")] == [first, second]
    assert [p.id for p in engine.queue_for("U0ED1")] == [first, second]  # via the user group
    assert engine.queue_for(AUTHOR) == []  # never their own posts
    accepted(engine.execute(Approve("U0ANNA", first, 1, 0)))
    assert [p.id for p in engine.queue_for("U0ANNA")] == [second]
    assert [p.id for p in engine.queue_for("U0BRAND")] == [first]
    accepted(engine.execute(Approve("U0BRAND", first, 1, 1)))
    assert [p.id for p in engine.queue_for("U0BRAND")] == []
    assert [p.id for p in engine.queue_for("U0BRAND2")] == [first]
    assert set(engine.store.ids_by_state(PostState.IN_REVIEW)) == {first, second}
    assert set(engine.store.ids_by_author(AUTHOR)) == {first, second}


def test_freeze_and_unfreeze_are_audited(engine, clock):
    store = engine.store
    assert store.freeze_state() is None
    store.set_freeze("U0ADMIN", "Breaking news: hold everything", clock())
    assert store.freeze_state() == {
        "by": "U0ADMIN",
        "reason": "Breaking news: hold everything",
        "at": clock().isoformat(),
        "targets": "[]",
    }
    store.clear_freeze("U0ADMIN", clock())
    assert store.freeze_state() is None
    actions = [(e["action"], e.get("reason")) for e in reversed(store.recent_activity())]
    assert actions == [("freeze", "Breaking news: hold everything"), ("unfreeze", None)]


def test_messages_showing_a_post_expire_with_it(engine, client):
    post_id = draft(engine, source_key="C0DRAFTS:1700000000.000100")
    assert engine.store.post_id_for_source("C0DRAFTS:1700000000.000100") == post_id
    engine.store.remember_message(post_id, "C0APPROVALS", "1700000001.000200")
    engine.store.remember_message(post_id, "D0ANNA", "1700000002.000300")
    assert engine.store.messages(post_id) == [
        ("C0APPROVALS", "1700000001.000200"),
        ("D0ANNA", "1700000002.000300"),
    ]
    key = engine.store.keys.post_messages(post_id)
    assert client.ttl(key) == -1
    accepted(engine.execute(Withdraw(AUTHOR, post_id, 1)))
    assert client.ttl(key) > 0
    engine.store.remember_message(post_id, "C0LATE", "1700000003.000400")
    assert client.ttl(key) > 0


def test_final_approval_of_a_risky_post_needs_a_written_justification(client, team, clock):
    config = parse_workflow_file(
        """
approvals_channel: C0APPROVALS
targets: {site: {type: slack, channel: C0SITE}}
workflows:
  - name: one step
    targets: [site]
    steps:
      - {name: Check, approvers: {users: [U0A]}}
risk: {require_override_at: high}
"""
    )
    engine = Engine(client, team, config, StaticDirectory(), keyword_risk, clock)
    calm = draft(engine, "A calm post")
    assert accepted(engine.execute(Approve("U0A", calm, 1, 0))).post.state == "approved"
    risky = draft(engine, "RISKY: guaranteed cure")
    refusal = refused(
        engine.execute(Approve("U0A", risky, 1, 0)), RefusalCode.JUSTIFICATION_REQUIRED
    )
    assert "written justification" in refusal.message
    assert engine.post(risky).state == PostState.IN_REVIEW
    done = accepted(engine.execute(Approve("U0A", risky, 1, 0, "Legal checked the claim")))
    assert done.post.state == PostState.APPROVED
    last = engine.store.history(risky)[-1]
    assert (last["action"], last["reason"]) == ("approve", "Legal checked the claim")
