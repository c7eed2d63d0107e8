"""Reminders and escalation of a waiting step, and quiet hours: when each is due.

The plan of a step (`Nudges`) is snapshot onto its run when the chain is built, like its
approvers, so editing the workflow file never changes a post in flight. Reminders come in
rounds: round 1 at the step's start + `remind_after`, round k at round 1 + (k-1) ×
`remind_every`. Which round each person last got is kept per person (see
`Store.claim_reminder`), so a round deferred by quiet hours is sent once, in their morning.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from workflows.config import Step, WorkflowFile
from workflows.models import Nudges, Post, PostState, StepRun
from workflows.timing import in_window, local_moment

#: The actor of what Greenlight does by itself (escalations).
GREENLIGHT = "greenlight"


def nudges_of(step: Step) -> Nudges | None:
    """The step's reminder and escalation plan, or None when it has neither."""
    if not (step.remind_after or step.escalate_after):
        return None
    escalate = step.escalate_to
    return Nudges(
        remind_after=step.remind_after,
        remind_every=step.remind_every,
        escalate_after=step.escalate_after,
        escalate_users=list(escalate.users) if escalate else [],
        escalate_usergroups=list(escalate.usergroups) if escalate else [],
    )


def escalation_due_at(run: StepRun) -> datetime | None:
    """When the step escalates; None when it has no escalation, or already escalated."""
    plan = run.nudges
    if plan is None or plan.escalate_after is None or run.escalated_at or not run.started_at:
        return None
    return run.started_at + plan.escalate_after


def reminder_round(run: StepRun, now: datetime) -> int:
    """The latest reminder round due by `now` (0: none yet)."""
    plan = run.nudges
    if plan is None or plan.remind_after is None or not run.started_at:
        return 0
    first = run.started_at + plan.remind_after
    if now < first:
        return 0
    if plan.remind_every is None:
        return 1
    return 1 + int((now - first) / plan.remind_every)


def round_at(run: StepRun, number: int) -> datetime | None:
    """When reminder round `number` (from 1) is due; None when the step has no such round."""
    plan = run.nudges
    if plan is None or plan.remind_after is None or not run.started_at or number < 1:
        return None
    if number > 1 and plan.remind_every is None:
        return None
    return run.started_at + plan.remind_after + (number - 1) * (plan.remind_every or timedelta())


def first_nudge_at(post: Post) -> datetime | None:
    """When a worker should first look at the post's active step (first reminder or
    escalation), or None when nothing is planned. Feeds the `nudges` index."""
    index = post.current_step
    if post.state != PostState.IN_REVIEW or index is None:
        return None
    run = post.steps[index]
    times = [t for t in (round_at(run, 1), escalation_due_at(run)) if t]
    return min(times) if times else None


def next_nudge_at(run: StepRun, now: datetime) -> datetime | None:
    """After the work due at `now` was done: the next reminder round or the escalation."""
    times = [round_at(run, reminder_round(run, now) + 1), escalation_due_at(run)]
    upcoming = [t for t in times if t]
    return min(upcoming) if upcoming else None


# -- quiet hours -----------------------------------------------------------------------------


@dataclass(frozen=True)
class QuietHours:
    """When reminders wait: a daily window (in each person's zone) and/or weekends."""

    window: tuple[time, time] | None = None
    weekends: bool = False

    @classmethod
    def of(cls, config: WorkflowFile) -> QuietHours:
        return cls(config.quiet_hours, config.quiet_weekends)

    def ends(self, moment: datetime, zone: ZoneInfo) -> datetime | None:
        """When quiet time that covers `moment` ends for someone in `zone` (the first moment
        they may be reminded), or None when `moment` is not quiet. DST-correct: "08:00" is
        08:00 on their wall clock, whatever the offset that day."""
        end = moment
        for _ in range(8):  # a weekend then the morning window: a few hops at most
            local = end.astimezone(zone)
            if self.weekends and local.weekday() >= 5:
                monday = local.date() + timedelta(days=7 - local.weekday())
                end = local_moment(monday, time(0, 0), zone)
            elif self.window and in_window(local.time(), self.window):
                day = local.date() if local.time() < self.window[1] else _next(local.date())
                end = local_moment(day, self.window[1], zone)
            else:
                break
        return end if end != moment else None


def _next(day: date) -> date:
    return day + timedelta(days=1)


def away_ends_at(last_day: date, zone: ZoneInfo) -> datetime:
    """`/greenlight away until DAY` lasts to the end of that day in the person's zone."""
    return local_moment(_next(last_day), time(0, 0), zone)
