"""The approval card: the exact text of a revision, its risk warnings, the chain, the buttons."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Protocol

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.views.format import approvers, chunks, clip, escape, mention, mentions, when
from workflows.models import (
    RESCHEDULABLE,
    DeliveryStatus,
    Post,
    PostState,
    StepRun,
    StepStatus,
)

APPROVE, REQUEST_CHANGES, REJECT, EDIT_DRAFT = (
    "gl_approve",
    "gl_request_changes",
    "gl_reject",
    "gl_edit_draft",
)
PUBLISH_NOW, CANCEL, RESCHEDULE = "gl_publish_now", "gl_cancel", "gl_reschedule"
MARK_PUBLISHED, RETRY = "gl_mark_published", "gl_retry"
DELIVERY_ICONS = {
    DeliveryStatus.PENDING: ":hourglass:",
    DeliveryStatus.ATTEMPTING: ":outbox_tray:",
    DeliveryStatus.PUBLISHED: ":white_check_mark:",
    DeliveryStatus.FAILED: ":warning:",
    DeliveryStatus.OUTCOME_UNKNOWN: ":grey_question:",
}
#: States in which an approved post can get a new time without a new approval.
MAX_TEXT_BLOCKS = 10
#: Enough for the 40,000 characters of the longest Slack message, cut at line breaks (pieces
#: of 1,500 to 3,000 characters), and the card's other blocks, within 50.
WHOLE_TEXT_BLOCKS = 27
MAX_FINDINGS = 8

STATE_LABELS = {
    PostState.DRAFT: ":pencil2: Changes requested: waiting for the author's new revision",
    PostState.IN_REVIEW: ":hourglass_flowing_sand: In review",
    PostState.APPROVED: ":white_check_mark: Approved",
    PostState.REJECTED: ":no_entry: Rejected",
    PostState.WITHDRAWN: ":leftwards_arrow_with_hook: Withdrawn by the author",
    PostState.CANCELLED: ":x: Cancelled",
    PostState.SCHEDULED: ":calendar: Scheduled",
    PostState.PUBLISHING: ":outbox_tray: Publishing",
    PostState.PUBLISHED: ":rocket: Published",
    PostState.HELD: ":double_vertical_bar: Held: a human must decide",
    PostState.FAILED: ":warning: Publishing failed",
    PostState.OUTCOME_UNKNOWN: ":grey_question: Outcome unknown: check the target",
}
STEP_ICONS = {
    StepStatus.WAITING: ":white_circle:",
    StepStatus.ACTIVE: ":large_blue_circle:",
    StepStatus.APPROVED: ":white_check_mark:",
    StepStatus.SKIPPED: ":fast_forward:",
    StepStatus.REJECTED: ":no_entry:",
    StepStatus.CHANGES_REQUESTED: ":pencil2:",
    StepStatus.OVERRIDDEN: ":fast_forward:",
}
PAST_TENSE = {"approve": "approved", "reject": "rejected", "request_changes": "asked for changes"}
SEVERITY_ICONS = {
    "high": ":red_circle:",
    "medium": ":large_orange_circle:",
    "low": ":large_yellow_circle:",
}


class Finding(Protocol):
    category: str
    severity: str
    excerpt: str
    message: str


def button_value(post: Post, step: int | None = None, target: str | None = None) -> str:
    """What a button carries: the post, the revision and the step (or target) it was
    rendered for."""
    value: dict[str, object] = {"p": post.id, "r": post.revision.number}
    if step is not None:
        value["s"] = step
    if target is not None:
        value["t"] = target
    return json.dumps(value, separators=(",", ":"))


def card_fallback(post: Post) -> str:
    """The notification text of the card (shown where blocks are not)."""
    return f"Draft #{post.id} (revision {post.revision.number}): {excerpt(post)}"


def excerpt(post: Post) -> str:
    """The start of the draft's text for mrkdwn (Slack reads `<`, `>` and `&` as markup, so
    they are escaped)."""
    return escape(clip(post.revision.text, 260))


def approval_card(
    post: Post,
    findings: Sequence[Finding],
    freeze: dict[str, str] | None = None,
    whole_text: bool = False,
) -> list[Block]:
    """The card; its text is cut after MAX_TEXT_BLOCKS blocks (30,000 characters at most),
    unless `whole_text` (`/greenlight status`): then it holds any text a Slack message can,
    still within the 50 blocks of a message."""
    revision = post.revision
    blocks: list[Block] = [
        HeaderBlock(text=clip(f"Draft #{post.id} · revision {revision.number}", 150)),
        ContextBlock(elements=[MarkdownTextObject(text=_status_line(post))]),
    ]
    if freeze and not post.finished:
        blocks.append(_freeze_banner(freeze))
    pieces = chunks(revision.text, 3000)
    shown = pieces[: WHOLE_TEXT_BLOCKS if whole_text else MAX_TEXT_BLOCKS]
    blocks += [SectionBlock(text=PlainTextObject(text=p, emoji=False)) for p in shown]
    if len(pieces) > len(shown):
        rest = sum(len(p) for p in pieces[len(shown) :])
        where = (
            "more than one Slack message holds"
            if whole_text
            else f"`/greenlight status {post.id}` shows the whole text"
        )
        note = f":scissors: {rest:,} more characters not shown here; {where}."
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=note)]))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=_targets_line(post))]))
    blocks.append(DividerBlock())
    blocks += _risk_blocks(findings)
    blocks.append(DividerBlock())
    blocks.append(SectionBlock(text=MarkdownTextObject(text=clip(_chain_text(post), 3000))))
    step = post.current_step
    if post.state == PostState.IN_REVIEW and step is not None:
        value = button_value(post, step)
        blocks.append(
            ActionsBlock(
                block_id=f"decide-{post.id}-{revision.number}-{step}",
                elements=[
                    ButtonElement(text="Approve", action_id=APPROVE, value=value, style="primary"),
                    ButtonElement(text="Request changes", action_id=REQUEST_CHANGES, value=value),
                    ButtonElement(text="Reject", action_id=REJECT, value=value, style="danger"),
                ],
            )
        )
    else:
        blocks += _publishing_blocks(post)
    if post.closing_reason and post.state != PostState.IN_REVIEW:
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(text=clip(f"Reason: {escape(post.closing_reason)}", 3000))
                ]
            )
        )
    return blocks


def _freeze_banner(freeze: dict[str, str]) -> Block:
    scope = json.loads(freeze.get("targets") or "[]")
    what = f"to {', '.join(scope)}" if scope else "everywhere"
    return SectionBlock(
        text=MarkdownTextObject(
            text=clip(
                f":octagonal_sign: *Publishing is frozen {what}* by {mention(freeze['by'])}: "
                f"{escape(freeze.get('reason', ''))}",
                3000,
            )
        )
    )


def _publishing_blocks(post: Post) -> list[Block]:
    """Where each target stands, and what a human can do about it."""
    blocks: list[Block] = []
    if post.deliveries:
        lines = []
        for d in post.deliveries:
            detail = (
                (d.permalink and f"<{d.permalink}|view>")
                or escape(d.error or "")
                or (d.status.value.replace("_", " "))
            )
            lines.append(f"{DELIVERY_ICONS[d.status]} *{escape(d.target)}* · {clip(detail, 300)}")
        blocks.append(SectionBlock(text=MarkdownTextObject(text=clip("\n".join(lines), 3000))))
    buttons: list[ButtonElement] = []
    if post.state in (PostState.HELD, PostState.SCHEDULED):
        buttons.append(
            ButtonElement(text="Publish now", action_id=PUBLISH_NOW, value=button_value(post))
        )
    if post.state in RESCHEDULABLE:
        buttons.append(reschedule_button(post))
    for d in post.deliveries:
        if d.status in (DeliveryStatus.OUTCOME_UNKNOWN, DeliveryStatus.FAILED):
            value = button_value(post, target=d.target)
            buttons.append(
                ButtonElement(
                    text=clip(f"{d.target}: it went out", 75), action_id=MARK_PUBLISHED, value=value
                )
            )
            buttons.append(
                ButtonElement(text=clip(f"{d.target}: retry", 75), action_id=RETRY, value=value)
            )
    if post.state in (PostState.HELD, PostState.SCHEDULED, PostState.APPROVED):
        buttons.append(
            ButtonElement(text="Cancel", action_id=CANCEL, value=button_value(post), style="danger")
        )
    if buttons:
        blocks.append(
            ActionsBlock(
                block_id=f"publish-{post.id}-{post.revision.number}", elements=buttons[:25]
            )
        )
    return blocks


def reschedule_button(post: Post, text: str = "Reschedule") -> ButtonElement:
    """Opens the date and time picker (`reschedule_modal`): a new time, no new approval."""
    return ButtonElement(text=clip(text, 75), action_id=RESCHEDULE, value=button_value(post))


def _status_line(post: Post) -> str:
    label = STATE_LABELS[post.state]
    step = post.current_step
    if post.state == PostState.IN_REVIEW and step is not None:
        active = [s for s in post.steps if s.status != StepStatus.SKIPPED]
        number = active.index(post.steps[step]) + 1
        run = post.steps[step]
        label += f": step {number} of {len(active)}, *{escape(run.name)}*, for {approvers(run)}"
    if post.revision.urgent and not post.finished:
        label = f":rotating_light: *Urgent* · {label}"
    return clip(f"{label} · by {mention(post.author)} · workflow {escape(post.workflow)}", 3000)


def _targets_line(post: Post) -> str:
    revision = post.revision
    parts = [f"*Targets:* {', '.join(revision.targets)}"]
    parts.append(
        f"*Goes out:* {when(revision.scheduled_at)}"
        if revision.scheduled_at
        else "*Goes out:* as soon as it is approved"
    )
    if revision.campaign:
        parts.append(f"*Campaign:* {escape(revision.campaign)}")
    return clip(" · ".join(parts), 3000)


def _risk_blocks(findings: Sequence[Finding]) -> list[Block]:
    if not findings:
        return [
            SectionBlock(
                text=MarkdownTextObject(text=":large_green_circle: *Risk check:* no warnings.")
            )
        ]
    order = {"high": 0, "medium": 1, "low": 2}
    ranked = sorted(findings, key=lambda f: order.get(f.severity, 3))
    worst = ranked[0].severity
    blocks: list[Block] = [
        SectionBlock(
            text=MarkdownTextObject(
                text=f"{SEVERITY_ICONS.get(worst, '')} *Risk check: {worst}* · "
                f"{len(findings)} warning{'s' if len(findings) != 1 else ''}"
            )
        )
    ]
    for finding in ranked[:MAX_FINDINGS]:
        text = (
            f"{SEVERITY_ICONS.get(finding.severity, '')} *{finding.severity}* · "
            f"{finding.category.replace('_', ' ')}: “{escape(clip(finding.excerpt, 200))}”\n"
            f"{escape(finding.message)}"
        )
        blocks.append(SectionBlock(text=MarkdownTextObject(text=clip(text, 3000))))
    if len(ranked) > MAX_FINDINGS:
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(text=f"…and {len(ranked) - MAX_FINDINGS} more warnings.")
                ]
            )
        )
    return blocks


def _chain_text(post: Post) -> str:
    lines = ["*Approval chain*"]
    for run in post.steps:
        lines.append(f"{STEP_ICONS[run.status]} *{escape(run.name)}* · {_step_detail(run)}")
    return "\n".join(lines)


def _step_detail(run: StepRun) -> str:
    if run.status == StepStatus.SKIPPED:
        return "not needed for this draft"
    if run.status == StepStatus.OVERRIDDEN:
        return "overridden by an admin"
    quorum = "all of" if run.quorum == "all" else f"{run.quorum} of"
    detail = f"{quorum} {approvers(run)}"
    if run.escalated_at and run.nudges:
        to = mentions([*run.nudges.escalate_users, *run.nudges.escalate_usergroups])
        detail += f"; :rotating_light: escalated to {to} {when(run.escalated_at)}"
    votes = [
        f"{mention(v.actor)} {PAST_TENSE[v.verdict]}"
        + (f" for {mention(v.on_behalf_of)}" if v.on_behalf_of else "")
        + f" {when(v.at)}"
        for v in run.votes
    ]
    return detail + ("; " + "; ".join(votes) if votes else "")
