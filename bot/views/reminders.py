"""Reminder and escalation DMs (the approval card with a line on top), and what admins are told
when a reminder could not reach someone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from slack_sdk.models.blocks import Block

from bot.views.card import Finding, approval_card
from bot.views.format import clip, escape, mention
from bot.views.messages import section
from workflows.models import Post
from workflows.timing import format_duration


@dataclass(frozen=True)
class Unreachable:
    """Someone a reminder or escalation should have reached, and why it could not."""

    who: str  # a user or user group id
    why: str  # "left", "unknown", a Slack error such as "cannot_dm_bot", or "deleted_group"


def _waited(waited: timedelta) -> str:
    return format_duration(max(waited, timedelta(minutes=1)))


def reminder_text(post: Post, step: int, waited: timedelta, on_behalf_of: str | None) -> str:
    """The reminder's notification text, and the line above its card."""
    name = escape(post.steps[step].name)
    urgent = ":rotating_light: *Urgent* · " if post.revision.urgent else ""
    whose = f", for {mention(on_behalf_of)} who is away," if on_behalf_of else ""
    return (
        f"{urgent}:alarm_clock: Reminder: draft #{post.id} by {mention(post.author)} has waited "
        f"{_waited(waited)} for your decision{whose} ({name})."
    )


def reminder_blocks(
    post: Post, step: int, waited: timedelta, on_behalf_of: str | None, findings: Sequence[Finding]
) -> list[Block]:
    return [section(reminder_text(post, step, waited, on_behalf_of)), *_card(post, findings)]


def escalation_text(post: Post, step: int) -> str:
    run = post.steps[step]
    waited = run.nudges.escalate_after if run.nudges and run.nudges.escalate_after else None
    after = f" after {_waited(waited)}" if waited else ""
    return (
        f":rotating_light: Escalated to you: draft #{post.id} by {mention(post.author)} got no "
        f"decision on step “{escape(run.name)}”{after}. Your approval or rejection decides the "
        "step."
    )


def escalation_blocks(post: Post, step: int, findings: Sequence[Finding]) -> list[Block]:
    return [section(escalation_text(post, step)), *_card(post, findings)]


def _card(post: Post, findings: Sequence[Finding]) -> list[Block]:
    """The approval card, leaving room for the line on top within Slack's 50 blocks."""
    return approval_card(post, findings)[:49]


_WHY = {
    "left": "left Slack (their account is deactivated)",
    "unknown": "is not a user of this workspace",
    "user_not_found": "is not a user of this workspace",
    "account_inactive": "left Slack (their account is deactivated)",
    "cannot_dm_bot": "is a bot, which cannot get direct messages",
    "deleted_group": "is a user group that no longer exists",
}


def unreachable_text(post: Post, step: int, what: str, problems: Sequence[Unreachable]) -> str:
    """DM to admins: who could not be reached, and what to change."""
    run = post.steps[step]
    lines = [
        f":warning: Greenlight could not send the {what} for draft #{post.id} "
        f"(step “{escape(run.name)}” of workflow “{escape(post.workflow)}”) to:"
    ]
    for problem in problems:
        why = _WHY.get(problem.why, f"could not be messaged ({escape(problem.why)})")
        lines.append(f"• {mention(problem.who)} {why}")
    lines.append(
        "Everyone else got it. Fix the workflow file: remove or replace them in this step's "
        "`approvers` or `escalate_to` (or recreate the user group), then restart Greenlight. "
        "Meanwhile the step's other approvers can still decide, or an admin can override."
    )
    return clip("\n".join(lines), 3000)
