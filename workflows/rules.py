"""The approval rules, as pure functions: a post and a command in, a new post and its events
(or a refusal that explains itself) out. Nothing here touches Redis; `workflows.engine` loads,
applies and commits atomically.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from workflows.commands import (
    KEEP,
    Approve,
    Cancel,
    Decision,
    Escalate,
    Override,
    PostCommand,
    Reject,
    RequestChanges,
    Reschedule,
    ResolveDelivery,
    Revise,
    Submit,
    Withdraw,
)
from workflows.config import QUORUM_ALL, Step, Workflow, WorkflowFile
from workflows.directory import Directory
from workflows.models import (
    RESCHEDULABLE,
    REVISABLE,
    Delivery,
    DeliveryStatus,
    Post,
    PostState,
    Revision,
    StepRun,
    StepStatus,
    Vote,
)
from workflows.outcomes import Accepted, Event, Refusal, RefusalCode
from workflows.reminders import escalation_due_at, nudges_of
from workflows.risk.models import ReportSeverity as RiskLevel
from workflows.risk.models import at_least
from workflows.timing import format_duration

#: Rates a revision's text for its targets; feeds `when: {risk_at_least: ...}`.
RiskAssessor = Callable[[str, tuple[str, ...]], RiskLevel]

_CANCELLABLE = REVISABLE | {PostState.FAILED, PostState.OUTCOME_UNKNOWN}


def _nobody_away(delegate: str) -> tuple[str, ...]:
    return ()


@dataclass(frozen=True)
class Context:
    config: WorkflowFile
    directory: Directory
    assess_risk: RiskAssessor
    now: datetime
    #: The approvers who are away now and named this person their delegate. Asked only when
    #: someone who is not otherwise an approver of the step decides it (off the hot path).
    away_for: Callable[[str], tuple[str, ...]] = _nobody_away


@dataclass(frozen=True)
class _Standing:
    """Why someone may decide a step: as an approver, an escalation approver, or a delegate
    (`principal` is the away approver whose vote they cast)."""

    voter: str
    escalation: bool = False
    principal: str | None = None


def submit(cmd: Submit, post_id: str, team: str, ctx: Context) -> Accepted | Refusal:
    if not cmd.text.strip():
        return Refusal(
            RefusalCode.INVALID, "The draft is empty: write the text of the post.", field="text"
        )
    workflow = _choose_workflow(cmd, ctx.config)
    if isinstance(workflow, Refusal):
        return workflow
    targets = tuple(cmd.targets) if cmd.targets is not None else tuple(workflow.targets)
    bad_targets = _target_problem(targets, ctx.config)
    if bad_targets:
        return bad_targets
    blackout = cmd.scheduled_at and blackout_at(ctx.config, cmd.scheduled_at, list(targets))
    if blackout:
        return Refusal(
            RefusalCode.INVALID,
            f"That time is in a blackout window: {blackout}.",
            field="scheduled_at",
        )
    revision = Revision(
        number=1,
        text=cmd.text,
        targets=list(targets),
        scheduled_at=cmd.scheduled_at,
        campaign=cmd.campaign,
        risk=ctx.assess_risk(cmd.text, targets),
        created_by=cmd.actor,
        created_at=ctx.now,
        urgent=cmd.urgent,
    )
    post = Post(
        id=post_id,
        team=team,
        author=cmd.actor,
        workflow=workflow.name,
        state=PostState.IN_REVIEW,
        revisions=[revision],
        steps=_chain(workflow, revision),
        created_at=ctx.now,
        updated_at=ctx.now,
        source=cmd.source,
    )
    return _started(post, "submit", cmd.actor, PostState.DRAFT, ctx.now, None, workflow.expiry)


def apply(post: Post, cmd: PostCommand, ctx: Context) -> Accepted | Refusal:
    """Apply a command to a post that exists; the caller commits the result atomically."""
    if post.finished:
        return Refusal(
            RefusalCode.POST_FINISHED,
            f"Post {post.id} is {post.state.value}: nothing can change it any more.",
        )
    if cmd.revision != post.revision.number:
        waiting = _waits_for(post)
        return Refusal(
            RefusalCode.OUTDATED_REVISION,
            f"This was revision {cmd.revision} of post {post.id}, but it is now at revision "
            f"{post.revision.number}: decisions on older revisions no longer count. "
            + (f"Revision {post.revision.number} waits for {waiting}. " if waiting else "")
            + "Use the latest card.",
        )
    match cmd:
        case Approve() | Reject() | RequestChanges():
            return _decide(post, cmd, ctx)
        case Revise():
            return _revise(post, cmd, ctx)
        case Withdraw():
            return _withdraw(post, cmd, ctx)
        case Override():
            return _override(post, cmd, ctx)
        case Cancel():
            return _cancel(post, cmd, ctx)
        case Reschedule():
            return _reschedule(post, cmd, ctx)
        case ResolveDelivery():
            return _settle(post, cmd, ctx)
        case Escalate():
            return _escalate(post, cmd, ctx)


# -- decisions -------------------------------------------------------------------------------


def _decide(post: Post, cmd: Decision, ctx: Context) -> Accepted | Refusal:
    reason = _reason_of(cmd)
    if reason is not None and not reason.strip():
        what = "a reason for rejecting" if isinstance(cmd, Reject) else "what should change"
        return Refusal(
            RefusalCode.INVALID, f"Please write {what}; the author will read it.", field="reason"
        )
    standing = _judge(post, cmd.actor, cmd.step, ctx)
    if isinstance(standing, Refusal):
        return standing
    principal = standing.principal
    new = post.clone()
    run = new.steps[cmd.step]
    verdict = {Approve: "approve", Reject: "reject", RequestChanges: "request_changes"}[type(cmd)]
    run.votes.append(
        Vote(actor=cmd.actor, verdict=verdict, at=ctx.now, reason=reason, on_behalf_of=principal)
    )
    new.updated_at = ctx.now
    if isinstance(cmd, Reject):
        run.status, run.decided_at = StepStatus.REJECTED, ctx.now
        new.state, new.closing_reason = PostState.REJECTED, reason
        return _accepted(new, post, verdict, cmd.actor, ctx.now, cmd.step, reason, principal)
    if isinstance(cmd, RequestChanges):
        run.status, run.decided_at = StepStatus.CHANGES_REQUESTED, ctx.now
        new.state = PostState.DRAFT
        return _accepted(new, post, verdict, cmd.actor, ctx.now, cmd.step, reason, principal)
    # After an escalation, an escalation approver's approval decides the step outright.
    if not standing.escalation and _missing(new, cmd.step, ctx) > 0:
        return _accepted(new, post, verdict, cmd.actor, ctx.now, cmd.step, None, principal)
    last = not any(s.status == StepStatus.WAITING for s in new.steps[cmd.step + 1 :])
    threshold = ctx.config.risk.require_override_at
    justification = (cmd.justification or "").strip()
    if last and threshold and at_least(post.revision.risk, threshold) and not justification:
        return Refusal(
            RefusalCode.JUSTIFICATION_REQUIRED,
            f"Post {post.id} has risk {post.revision.risk}: its final approval needs a written "
            "justification, kept in the audit log.",
        )
    run.status, run.decided_at = StepStatus.APPROVED, ctx.now
    if justification:
        run.votes[-1] = run.votes[-1].model_copy(update={"reason": justification})
    workflow = _workflow_of(post, ctx.config)
    expiry = workflow.expiry if workflow else "hold"
    return _started(
        new,
        verdict,
        cmd.actor,
        post.state,
        ctx.now,
        cmd.step,
        expiry,
        justification or None,
        principal,
    )


def decision_refusal(post: Post, actor: str, index: int, ctx: Context) -> Refusal | None:
    """Why `actor` may not decide step `index` of `post` now, or None when they may. (Also
    answers "what waits for me" without building a transition.)"""
    judged = _judge(post, actor, index, ctx)
    return judged if isinstance(judged, Refusal) else None


def _judge(post: Post, actor: str, index: int, ctx: Context) -> _Standing | Refusal:
    """In what capacity `actor` may decide step `index` now, or why they may not."""
    if not 0 <= index < len(post.steps):
        return Refusal(RefusalCode.INVALID, f"Post {post.id} has no step {index + 1}.")
    step = post.steps[index]
    if post.state != PostState.IN_REVIEW or post.current_step != index:
        return Refusal(RefusalCode.ALREADY_DECIDED, _already_decided(post, index))
    workflow = _workflow_of(post, ctx.config)
    if actor == post.author and not (workflow and workflow.allow_self_approval):
        return Refusal(
            RefusalCode.AUTHOR_CANNOT_APPROVE,
            f"You wrote post {post.id}, and authors do not decide their own posts here. "
            f"{_who_can(step)} can decide step “{step.name}”; to pull the post, withdraw it.",
            _can_act(step),
        )
    standing = _standing(post, actor, step, ctx)
    if isinstance(standing, Refusal):
        return standing
    if standing is None:
        other = next(
            (s for s in post.steps if s is not step and _is_approver(actor, s, ctx.directory)),
            None,
        )
        code = RefusalCode.NOT_YOUR_STEP if other else RefusalCode.NOT_AN_APPROVER
        yours = f" You approve step “{other.name}”, which is not the current one." if other else ""
        return Refusal(
            code,
            f"Post {post.id} waits for step “{step.name}”, which only {_who_can(step)} "
            f"can decide.{yours}",
            _can_act(step),
        )
    people = {actor, standing.voter}  # a delegate and the approver they stand in for
    if workflow is None or workflow.distinct_approvers:
        earlier = next(
            (
                s
                for s in post.steps[:index]
                if any(people & {v.actor, v.voter} for v in s.approvals)
            ),
            None,
        )
        if earlier:
            who = "You" if standing.principal is None else f"You or {standing.principal}"
            return Refusal(
                RefusalCode.APPROVED_EARLIER_STEP,
                f"{who} already approved step “{earlier.name}” of this post, and one person "
                f"counts in one step only. {_who_can(step)} can decide step “{step.name}”.",
                _can_act(step),
            )
    mine = next((v for v in step.votes if v.voter == standing.voter), None)
    if mine:
        whose = "You" if standing.principal is None else f"{standing.principal}'s vote"
        return Refusal(
            RefusalCode.ALREADY_VOTED,
            f"{whose} already decided step “{step.name}” ({mine.verdict.replace('_', ' ')}, "
            f"{mine.at:%Y-%m-%d %H:%M} UTC); "
            f"it needs {_missing(post, index, ctx)} more approval(s).",
        )
    return standing


def _standing(post: Post, actor: str, step: StepRun, ctx: Context) -> _Standing | Refusal | None:
    """`actor` decides `step` as its approver, as an escalation approver once it escalated, or
    as the delegate of an away approver who has not voted; None: in no capacity."""
    if _is_approver(actor, step, ctx.directory):
        return _Standing(actor)
    if step.escalated_at and step.nudges and _is_escalation_approver(actor, step, ctx.directory):
        return _Standing(actor, escalation=True)
    voted = {v.voter for v in step.votes}
    principals = [
        p for p in ctx.away_for(actor) if p not in voted and _is_approver(p, step, ctx.directory)
    ]
    workflow = _workflow_of(post, ctx.config)
    if post.author in principals and not (workflow and workflow.allow_self_approval):
        principals.remove(post.author)
        if not principals:
            return Refusal(
                RefusalCode.AUTHOR_CANNOT_APPROVE,
                f"You stand in for {post.author}, who wrote post {post.id}, and authors do not "
                f"decide their own posts here. {_who_can(step)} can decide step “{step.name}”.",
                _can_act(step),
            )
    return _Standing(principals[0], principal=principals[0]) if principals else None


def _reason_of(cmd: Decision) -> str | None:
    if isinstance(cmd, Reject):
        return cmd.reason
    if isinstance(cmd, RequestChanges):
        return cmd.comment
    return None


def _missing(post: Post, index: int, ctx: Context) -> int:
    """Approvals the step still needs before it is approved."""
    step = post.steps[index]
    if step.quorum != QUORUM_ALL:
        return max(0, int(step.quorum) - len(step.approvals))
    workflow = _workflow_of(post, ctx.config)
    eligible = _resolve(step, ctx.directory)
    if not (workflow and workflow.allow_self_approval):
        eligible.discard(post.author)
    if workflow is None or workflow.distinct_approvers:
        for earlier in post.steps[:index]:
            eligible -= {v.voter for v in earlier.approvals}
    approved = {v.voter for v in step.approvals}
    # "all" means everyone eligible now, and at least one person.
    return max(len(eligible - approved), 0 if approved else 1)


def _already_decided(post: Post, index: int) -> str:
    step = post.steps[index]
    by = ", ".join(f"{v.actor} ({v.verdict.replace('_', ' ')})" for v in step.votes) or "nobody"
    waiting = _waits_for(post)
    if step.status == StepStatus.WAITING:
        return (
            f"Step “{step.name}” of post {post.id} has not started yet: it waits for "
            f"{waiting or 'no step'}."
        )
    if waiting:
        state = f"it now waits for {waiting}"
    else:
        state = {
            PostState.DRAFT: "changes were requested; it waits for the author's new revision",
            PostState.APPROVED: "the post is approved",
        }.get(post.state, f"the post is {post.state.value.replace('_', ' ')}")
    return f"Step “{step.name}” of post {post.id} was already decided by {by}; {state}."


# -- author and admin commands ---------------------------------------------------------------


def _revise(post: Post, cmd: Revise, ctx: Context) -> Accepted | Refusal:
    if cmd.actor != post.author and cmd.actor not in ctx.config.admins:
        return Refusal(
            RefusalCode.NOT_ALLOWED,
            f"Only the author ({post.author}) or an admin can edit post {post.id}.",
            (post.author,),
        )
    if post.state not in REVISABLE:
        return Refusal(
            RefusalCode.NOT_ALLOWED,
            f"Post {post.id} is {post.state.value} and can no longer be edited.",
        )
    old = post.revision
    text = old.text if cmd.text is KEEP else cmd.text
    targets = tuple(old.targets) if cmd.targets is KEEP else tuple(cmd.targets)
    scheduled_at = old.scheduled_at if cmd.scheduled_at is KEEP else cmd.scheduled_at
    campaign = old.campaign if cmd.campaign is KEEP else cmd.campaign
    urgent = old.urgent if cmd.urgent is KEEP else cmd.urgent
    if not text.strip():
        return Refusal(
            RefusalCode.INVALID, "The new text is empty: write the text of the post.", field="text"
        )
    bad_targets = _target_problem(targets, ctx.config)
    if bad_targets:
        return bad_targets
    blackout = scheduled_at and blackout_at(ctx.config, scheduled_at, list(targets))
    if blackout:
        return Refusal(
            RefusalCode.INVALID,
            f"That time is in a blackout window: {blackout}.",
            field="scheduled_at",
        )
    if (text, list(targets), scheduled_at, campaign, urgent) == (
        old.text,
        old.targets,
        old.scheduled_at,
        old.campaign,
        old.urgent,
    ):
        return Refusal(
            RefusalCode.NOTHING_CHANGED,
            f"Revision {old.number} of post {post.id} already has this text, targets and schedule.",
        )
    workflow = _workflow_of(post, ctx.config)
    if workflow is None:
        return Refusal(
            RefusalCode.INVALID,
            f"Workflow “{post.workflow}” no longer exists in the workflow file; an admin can "
            "cancel this post or restore the workflow.",
        )
    revision = Revision(
        number=old.number + 1,
        text=text,
        targets=list(targets),
        scheduled_at=scheduled_at,
        campaign=campaign,
        risk=ctx.assess_risk(text, targets),
        created_by=cmd.actor,
        created_at=ctx.now,
        urgent=urgent,
    )
    new = post.clone()
    new.revisions.append(revision)
    new.steps = _chain(workflow, revision)  # every approval of the old revision is void
    new.state, new.updated_at = PostState.IN_REVIEW, ctx.now
    return _started(new, "revise", cmd.actor, post.state, ctx.now, None, workflow.expiry)


def _withdraw(post: Post, cmd: Withdraw, ctx: Context) -> Accepted | Refusal:
    if cmd.actor != post.author:
        return Refusal(
            RefusalCode.NOT_ALLOWED,
            f"Only the author ({post.author}) can withdraw post {post.id}; admins can cancel it.",
            (post.author,),
        )
    if post.state not in REVISABLE:
        return Refusal(
            RefusalCode.NOT_ALLOWED, f"Post {post.id} is {post.state.value}: too late to withdraw."
        )
    new = post.clone()
    new.state, new.updated_at = PostState.WITHDRAWN, ctx.now
    return _accepted(new, post, "withdraw", cmd.actor, ctx.now, None, None)


def _override(post: Post, cmd: Override, ctx: Context) -> Accepted | Refusal:
    if cmd.actor not in ctx.config.admins:
        return Refusal(
            RefusalCode.NOT_ALLOWED,
            "Only admins listed in the workflow file can override the approval chain.",
            tuple(ctx.config.admins),
        )
    if not cmd.justification.strip():
        return Refusal(
            RefusalCode.INVALID,
            "An override needs a written justification; it is kept in the audit log.",
        )
    if post.state not in (PostState.IN_REVIEW, PostState.DRAFT):
        return Refusal(
            RefusalCode.NOT_ALLOWED,
            f"Post {post.id} is {post.state.value}: there is no pending approval to override.",
        )
    new = post.clone()
    for run in new.steps:
        if run.status in (StepStatus.ACTIVE, StepStatus.WAITING, StepStatus.CHANGES_REQUESTED):
            run.status, run.decided_at = StepStatus.OVERRIDDEN, ctx.now
    workflow = _workflow_of(post, ctx.config)
    new.updated_at = ctx.now
    _approve(new, ctx.now, workflow.expiry if workflow else "hold")
    return _accepted(new, post, "override", cmd.actor, ctx.now, None, cmd.justification)


def _cancel(post: Post, cmd: Cancel, ctx: Context) -> Accepted | Refusal:
    refusal = _author_or_admin(post, cmd.actor, ctx, "cancel")
    if refusal:
        return refusal
    if post.state not in _CANCELLABLE:
        return Refusal(
            RefusalCode.NOT_ALLOWED, f"Post {post.id} is {post.state.value}: too late to cancel."
        )
    new = post.clone()
    new.state, new.updated_at, new.closing_reason = PostState.CANCELLED, ctx.now, cmd.reason
    return _accepted(new, post, "cancel", cmd.actor, ctx.now, None, cmd.reason)


def _reschedule(post: Post, cmd: Reschedule, ctx: Context) -> Accepted | Refusal:
    refusal = _author_or_admin(post, cmd.actor, ctx, "reschedule")
    if refusal:
        return refusal
    if post.state not in RESCHEDULABLE:
        return Refusal(
            RefusalCode.NOT_ALLOWED,
            f"Post {post.id} is {post.state.value.replace('_', ' ')}: only approved, scheduled "
            "or held posts can be rescheduled.",
        )
    if cmd.at is not None and cmd.at <= ctx.now:
        return Refusal(RefusalCode.INVALID, "Pick a time in the future, or publish now.")
    blackout = blackout_at(ctx.config, cmd.at or ctx.now, post.revision.targets)
    if blackout:
        return Refusal(RefusalCode.NOT_ALLOWED, f"That time is in a blackout window: {blackout}.")
    new = post.clone()
    new.revisions[-1] = post.revision.model_copy(update={"scheduled_at": cmd.at})
    for delivery in new.deliveries:
        if delivery.status == DeliveryStatus.PENDING:
            delivery.next_attempt_at = None
    new.state = PostState.SCHEDULED if cmd.at else PostState.APPROVED
    new.updated_at, new.closing_reason = ctx.now, None
    when = cmd.at.isoformat() if cmd.at else "now"
    return _accepted(new, post, "reschedule", cmd.actor, ctx.now, None, f"publish at {when}")


def _settle(post: Post, cmd: ResolveDelivery, ctx: Context) -> Accepted | Refusal:
    refusal = _author_or_admin(post, cmd.actor, ctx, "settle a delivery of")
    if refusal:
        return refusal
    delivery = next((d for d in post.deliveries if d.target == cmd.target), None)
    settleable = (DeliveryStatus.OUTCOME_UNKNOWN, DeliveryStatus.FAILED)
    if delivery is None or delivery.status not in settleable:
        return Refusal(
            RefusalCode.ALREADY_DECIDED,
            f"Post {post.id} has nothing to settle for {cmd.target}"
            + (f" (it is {delivery.status.value.replace('_', ' ')})." if delivery else "."),
        )
    new = post.clone()
    changed = next(d for d in new.deliveries if d.target == cmd.target)
    changed.updated_at, changed.error = ctx.now, None
    if cmd.outcome == "published":
        changed.status = DeliveryStatus.PUBLISHED
    else:
        changed.status, changed.token, changed.next_attempt_at = (
            DeliveryStatus.PENDING,
            None,
            ctx.now,
        )
    new.state, new.updated_at = overall_state(new), ctx.now
    action = "mark_published" if cmd.outcome == "published" else "retry"
    return Accepted(
        new, (_event(new, action, cmd.actor, post.state, ctx.now, None, None, target=cmd.target),)
    )


def _escalate(post: Post, cmd: Escalate, ctx: Context) -> Accepted | Refusal:
    """Record that the step waited too long: its escalation approvers may now decide it."""
    if post.state != PostState.IN_REVIEW or post.current_step != cmd.step:
        return Refusal(RefusalCode.ALREADY_DECIDED, _already_decided(post, cmd.step))
    run = post.steps[cmd.step]
    due = escalation_due_at(run)
    if due is None:
        escalated = f"escalated {run.escalated_at:%Y-%m-%d %H:%M} UTC" if run.escalated_at else ""
        return Refusal(
            RefusalCode.ALREADY_DECIDED if escalated else RefusalCode.INVALID,
            f"Step “{run.name}” of post {post.id} "
            + (f"was already {escalated}." if escalated else "has no escalation."),
        )
    if ctx.now < due:
        return Refusal(
            RefusalCode.NOT_ALLOWED,
            f"Step “{run.name}” of post {post.id} escalates at {due:%Y-%m-%d %H:%M} UTC.",
        )
    new = post.clone()
    new.steps[cmd.step].escalated_at = ctx.now
    new.updated_at = ctx.now
    waited = (
        format_duration(run.nudges.escalate_after)
        if run.nudges and run.nudges.escalate_after
        else ""
    )
    reason = f"no decision after {waited}"
    return _accepted(new, post, "escalate", cmd.actor, ctx.now, cmd.step, reason)


def _author_or_admin(post: Post, actor: str, ctx: Context, what: str) -> Refusal | None:
    if actor == post.author or actor in ctx.config.admins:
        return None
    return Refusal(
        RefusalCode.NOT_ALLOWED,
        f"Only the author ({post.author}) or an admin can {what} post {post.id}.",
        (post.author, *ctx.config.admins),
    )


def overall_state(post: Post) -> PostState:
    """A post's state once approved, from its deliveries."""
    statuses = {d.status for d in post.deliveries}
    if DeliveryStatus.ATTEMPTING in statuses:
        return PostState.PUBLISHING
    if DeliveryStatus.PENDING in statuses:
        return PostState.APPROVED  # due (again) at its time or its next attempt
    if DeliveryStatus.OUTCOME_UNKNOWN in statuses:
        return PostState.OUTCOME_UNKNOWN
    if DeliveryStatus.FAILED in statuses:
        return PostState.FAILED
    return PostState.PUBLISHED


def blackout_at(config: WorkflowFile, moment: datetime, targets: list[str]) -> str | None:
    """The reason of the blackout window covering `moment` for any of `targets`, if any."""
    for window in config.blackouts:
        if window.start <= moment < window.end and (
            not window.targets or set(window.targets) & set(targets)
        ):
            return window.reason
    return None


# -- the chain -------------------------------------------------------------------------------


def _chain(workflow: Workflow, revision: Revision) -> list[StepRun]:
    return [
        StepRun(
            name=step.name,
            users=list(step.approvers.users),
            usergroups=list(step.approvers.usergroups),
            quorum=step.quorum,
            channel=step.channel,
            status=StepStatus.WAITING if _applies(step, revision) else StepStatus.SKIPPED,
            nudges=nudges_of(step),
        )
        for step in workflow.steps
    ]


def _applies(step: Step, revision: Revision) -> bool:
    when = step.when
    if when is None:
        return True
    if when.risk_at_least and not at_least(revision.risk, when.risk_at_least):
        return False
    if when.targets is not None and not set(when.targets) & set(revision.targets):
        return False
    return not (when.campaign is not None and revision.campaign not in when.campaign)


def _approve(post: Post, now: datetime, expiry: str) -> None:
    """The chain is complete: prepare one delivery per target and decide when it goes out."""
    post.deliveries = [Delivery(target=t, updated_at=now) for t in post.revision.targets]
    when = post.revision.scheduled_at
    if when is None:
        post.state = PostState.APPROVED  # due now
    elif when > now:
        post.state = PostState.SCHEDULED
    elif expiry == "publish_late":
        post.state = PostState.APPROVED
    elif expiry == "cancel":
        post.state = PostState.CANCELLED
        post.closing_reason = "approved after its scheduled time (the workflow's expiry: cancel)"
    else:
        post.state = PostState.HELD
        post.closing_reason = None


def _started(
    new: Post,
    action: str,
    actor: str,
    before: PostState,
    now: datetime,
    step: int | None,
    workflow_expiry: str = "hold",
    reason: str | None = None,
    on_behalf_of: str | None = None,
) -> Accepted:
    """Activate the next waiting step, or approve the post when none is left."""
    following = next((i for i, s in enumerate(new.steps) if s.status == StepStatus.WAITING), None)
    if following is None:
        _approve(new, now, workflow_expiry)
    else:
        new.steps[following].status = StepStatus.ACTIVE
        new.steps[following].started_at = now
    main = _event(new, action, actor, before, now, step, reason, on_behalf_of=on_behalf_of)
    if following is None:
        return Accepted(new, (main,))
    started = _event(new, "step_started", actor, new.state, now, following, None)
    return Accepted(new, (main, started))


def _accepted(
    new: Post,
    old: Post,
    action: str,
    actor: str,
    now: datetime,
    step: int | None,
    reason: str | None,
    on_behalf_of: str | None = None,
) -> Accepted:
    event = _event(new, action, actor, old.state, now, step, reason, on_behalf_of=on_behalf_of)
    return Accepted(new, (event,))


def _event(
    post: Post,
    action: str,
    actor: str,
    before: PostState,
    now: datetime,
    step: int | None,
    reason: str | None,
    target: str | None = None,
    on_behalf_of: str | None = None,
) -> Event:
    return Event(
        action=action,
        post_id=post.id,
        revision=post.revision.number,
        actor=actor,
        at=now,
        from_state=before.value,
        to_state=post.state.value,
        step=step,
        step_name=post.steps[step].name if step is not None else None,
        reason=reason,
        target=target,
        on_behalf_of=on_behalf_of,
    )


# -- lookups ---------------------------------------------------------------------------------


def _choose_workflow(cmd: Submit, config: WorkflowFile) -> Workflow | Refusal:
    names = ", ".join(w.name for w in config.workflows)
    if cmd.workflow is not None:
        chosen = config.workflow_named(cmd.workflow)
        if chosen is None:
            return Refusal(
                RefusalCode.INVALID,
                f"There is no workflow “{cmd.workflow}” (there are: {names}).",
                field="workflow",
            )
        return chosen
    for workflow in config.workflows:
        match = workflow.match
        if match.channels and cmd.channel not in match.channels:
            continue
        if match.targets and not set(match.targets) & set(cmd.targets or ()):
            continue
        if match.campaign and cmd.campaign not in match.campaign:
            continue
        return workflow
    return Refusal(
        RefusalCode.INVALID,
        f"No workflow takes this draft (its channel, targets and campaign match none of: {names}).",
        field="workflow",
    )


def _target_problem(targets: tuple[str, ...], config: WorkflowFile) -> Refusal | None:
    known = ", ".join(config.targets) or "none"
    if not targets:
        return Refusal(
            RefusalCode.INVALID,
            f"Choose at least one target (there are: {known}).",
            field="targets",
        )
    unknown = [t for t in targets if t not in config.targets]
    if unknown:
        return Refusal(
            RefusalCode.INVALID,
            f"Unknown target(s) {', '.join(unknown)} (there are: {known}).",
            field="targets",
        )
    return None


def _workflow_of(post: Post, config: WorkflowFile) -> Workflow | None:
    return config.workflow_named(post.workflow)


def _is_approver(actor: str, step: StepRun, directory: Directory) -> bool:
    return actor in step.users or any(actor in directory.members(g) for g in step.usergroups)


def _is_escalation_approver(actor: str, step: StepRun, directory: Directory) -> bool:
    plan = step.nudges
    return plan is not None and (
        actor in plan.escalate_users
        or any(actor in directory.members(g) for g in plan.escalate_usergroups)
    )


def _resolve(step: StepRun, directory: Directory) -> set[str]:
    people = set(step.users)
    for group in step.usergroups:
        people |= directory.members(group)
    return people


def _can_act(step: StepRun) -> tuple[str, ...]:
    return (*step.users, *step.usergroups)


def _waits_for(post: Post) -> str:
    """The step the post waits for and who can decide it, in words; "" when none waits."""
    current = post.current_step
    if post.state != PostState.IN_REVIEW or current is None:
        return ""
    step = post.steps[current]
    return f"step “{step.name}”, which {_who_can(step)} can decide"


def _who_can(step: StepRun) -> str:
    names = [*step.users, *(f"members of {g}" for g in step.usergroups)]
    if len(names) <= 1:
        return "".join(names) or "nobody"
    return ", ".join(names[:-1]) + " or " + names[-1]
