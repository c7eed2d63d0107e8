"""Private replies, DMs and slash-command answers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.views.card import EDIT_DRAFT, STATE_LABELS, Finding, button_value
from bot.views.format import approvers, chunks, clip, escape, link_ids, mention, when
from workflows.config import WorkflowFile
from workflows.models import Post, PostState
from workflows.outcomes import Refusal

#: A message with files is not made a draft: drafts are text, and it would go out without them.
FILES_NOT_CARRIED = (
    ":paperclip: Greenlight drafts are text only, and this message has files: approved, it "
    "would be published without them, so it is not a draft. If the text can go out alone, "
    "post it without the files (or use `/greenlight draft`)."
)
#: A post waiting longer than this for one step is marked overdue.
OVERDUE_AFTER = timedelta(hours=24)

HELP = """*Greenlight* keeps drafts from going public before the right people approve them.
`/greenlight draft` · write a new draft (or post in an intake channel)
`/greenlight queue` · what waits for your decision
`/greenlight mine` · your drafts and where they stand
`/greenlight status ID` · one draft, with its card
`/greenlight history ID` · everything that happened to a draft
`/greenlight scheduled` · approved posts and when they go out
`/greenlight cancel ID` · cancel a draft or an approved post (author or admin)
`/greenlight reschedule ID 2026-12-01 09:30` (or `now`) · move an approved post
`/greenlight freeze [TARGET ...] [REASON]` · stop publishing now, or to some targets (admins)
`/greenlight unfreeze` · end the freeze (admins)
`/greenlight away until 2026-08-20 [delegate @someone]` · your delegate decides for you
`/greenlight back` · end your away time now
`/greenlight digest` · the digest as it is now, privately, with a button to post it
`/greenlight config` · the approval chains in words
`/greenlight help` · this text"""


def section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=clip(text, 3000)))


def refusal_text(refusal: Refusal) -> str:
    return f":no_entry_sign: {link_ids(refusal.message)}"


def too_many_to_dm(post: Post, step: str, people: int, sent: int) -> str:
    """A step with more approvers than get its card by DM."""
    return (
        f":information_source: Step “{escape(step)}” of draft #{post.id} has {people:,} "
        f"approvers: the first {sent:,} got the card by DM; all of them find it in their "
        "`/greenlight queue` and App Home."
    )


def left_slack(step: str, gone: Sequence[str]) -> str:
    """A step names users who left Slack."""
    return (
        f":warning: Step “{escape(step)}” names {', '.join(mention(p) for p in gone)}, who left "
        "Slack: ask an admin to update the workflow file."
    )


def not_withdrawn(post: Post, refusal: Refusal) -> str:
    """The author deleted the message of a draft that was past withdrawing (publishing)."""
    return (
        f"{refusal_text(refusal)} Deleting its message did not stop it; the card and "
        f"`/greenlight status {post.id}` show where it stands."
    )


def refused_form(refusal: Refusal, typed: str) -> list[Block]:
    """A form's refusal that came after it closed, with what the person had typed in it, so
    they can copy it into a new try (a form's text is at most 3,000 characters)."""
    return [section(refusal_text(refusal)), *_what_you_wrote(typed)]


def form_not_opened(error: str, typed: str) -> list[Block]:
    """The draft form Slack did not open (`error`), with the text typed after the command."""
    why = f":warning: Slack did not open the draft form ({error}). Try `/greenlight draft` again."
    return [section(why), *_what_you_wrote(typed)]


def _what_you_wrote(typed: str) -> list[Block]:
    kept = [SectionBlock(text=PlainTextObject(text=p, emoji=False)) for p in chunks(typed, 3000)]
    return [
        ContextBlock(elements=[MarkdownTextObject(text="Nothing was saved. What you wrote:")]),
        *kept[:40],
    ]


def too_long_to_edit(post: Post, limit: int) -> str:
    """Why a draft longer than a Slack form's text field is not opened in one, and what to do."""
    where = (
        f"Its author can edit the message in <#{post.source.channel}> instead (that makes the "
        "new revision), or withdraw the draft and send a shorter one."
        if post.source and post.source.channel and post.source.ts
        else "Withdraw it and send a shorter one."
    )
    return (
        f"Draft #{post.id} is {len(post.revision.text):,} characters long, more than a Slack "
        f"form holds ({limit:,}): editing it here would cut its end. {where}"
    )


@dataclass(frozen=True)
class PostLine:
    """A post's line in a list, built once per post version: all of it but the overdue mark,
    which depends on the time it is shown."""

    head: str
    tail: str
    waiting_since: datetime | None = None  # set while a step waits (the line may be overdue)
    scheduled_at: datetime | None = None

    def render(self, now: datetime) -> str:
        late = self.waiting_since is not None and _late(self.waiting_since, self.scheduled_at, now)
        return self.head + (" :rotating_light: *overdue*" if late else "") + self.tail

    def turns_overdue(self, now: datetime) -> datetime | None:
        """When the line, not overdue at `now`, will be (its mark appears); None: it already
        is, or it never will be."""
        if self.waiting_since is None or _late(self.waiting_since, self.scheduled_at, now):
            return None
        times = [self.waiting_since + OVERDUE_AFTER + timedelta(microseconds=1)]
        if self.scheduled_at is not None:
            times.append(self.scheduled_at)
        return min(times)


def post_line_parts(post: Post) -> PostLine:
    """One line for a list: id, state, age, the start of the text."""
    text = escape(clip(" ".join(post.revision.text.split()), 80))
    head = f"*#{post.id}* · {STATE_LABELS[post.state].split(':', 2)[-1].strip()}"
    tail = ""
    step, since = post.current_step, post.waiting_since
    if step is not None and since is not None:
        head += f" ({escape(post.steps[step].name)}, waiting since {when(since)})"
    if post.revision.scheduled_at and post.state in (PostState.APPROVED, PostState.SCHEDULED):
        tail += f" · goes out {when(post.revision.scheduled_at)}"
    return PostLine(head, f"{tail}\n> {text}", since, post.revision.scheduled_at)


def post_line(post: Post, now: datetime) -> str:
    return post_line_parts(post).render(now)


def overdue(post: Post, now: datetime) -> bool:
    since = post.waiting_since
    return since is not None and _late(since, post.revision.scheduled_at, now)


def _late(waiting_since: datetime, scheduled_at: datetime | None, now: datetime) -> bool:
    return (scheduled_at is not None and scheduled_at <= now) or now - waiting_since > OVERDUE_AFTER


def post_list(title: str, posts: Sequence[Post], now: datetime, empty: str) -> str:
    return line_list(title, [post_line(p, now) for p in posts], empty)


def line_list(title: str, lines: Sequence[str], empty: str) -> str:
    if not lines:
        return f"*{title}*\n{empty}"
    text = f"*{title}*\n" + "\n".join(lines)
    if len(text) > 3000:
        kept = _fitting(lines)
        text = f"*{title}*\n" + "\n".join(kept) + f"\n…and {len(lines) - len(kept)} more."
    return text


def _fitting(lines: Sequence[str], budget: int = 2800) -> list[str]:
    """The first whole lines that fit in `budget` characters, with their newlines (so a
    mention or date token is never cut in half)."""
    kept: list[str] = []
    size = 0
    for line in lines:
        if size + len(line) > budget:
            break
        kept.append(line)
        size += len(line) + 1
    return kept


def history_text(post_id: str, entries: Sequence[dict[str, str]]) -> str:
    if not entries:
        return f"No history for draft #{post_id} (it may have expired)."
    lines = []
    for entry in entries:
        at = datetime.fromisoformat(entry["at"])
        step = f" · {escape(entry['step_name'])}" if entry.get("step_name") else ""
        reason = f": “{escape(clip(entry['reason'], 200))}”" if entry.get("reason") else ""
        behalf = f" for {mention(entry['for'])}" if entry.get("for") else ""
        lines.append(
            f"{when(at)} · {mention(entry['actor'])}{behalf} · {entry['action'].replace('_', ' ')} "
            f"(revision {entry['revision']}{step}) → {entry['to'].replace('_', ' ')}{reason}"
        )
    kept = _fitting(lines[::-1])  # the newest first: what happened last matters most
    earlier = len(lines) - len(kept)
    more = [f"…{earlier} earlier entries not shown."] if earlier else []
    return "\n".join([f"*History of draft #{post_id}*", *more, *reversed(kept)])


def config_text(config: WorkflowFile) -> str:
    lines = []
    for workflow in config.workflows:
        match = workflow.match
        fits = []
        if match.channels:
            fits.append("posted in " + ", ".join(f"<#{c}>" for c in match.channels))
        if match.targets:
            fits.append("going to " + ", ".join(match.targets))
        if match.campaign:
            fits.append("in campaign " + ", ".join(match.campaign))
        lines.append(
            f"*{escape(workflow.name)}*: drafts {' and '.join(fits) or 'of any kind'}, "
            f"to {', '.join(workflow.targets) or 'targets chosen by the author'}"
        )
        for number, step in enumerate(workflow.steps, 1):
            who = [*step.approvers.users, *step.approvers.usergroups]
            need = "all of" if step.quorum == "all" else f"{step.quorum} of"
            cond = ""
            if step.when and step.when.risk_at_least:
                cond = f" (only when the risk is {step.when.risk_at_least} or worse)"
            lines.append(
                f"   {number}. {escape(step.name)}: {need} {link_ids(' '.join(who))}{cond}"
            )
        rules = [] if workflow.allow_self_approval else ["authors never approve their own drafts"]
        if workflow.distinct_approvers:
            rules.append("one person counts in one step only")
        if rules:
            lines.append("   " + "; ".join(rules) + ".")
    return clip("\n".join(lines), 3000)


def author_notice(post: Post, actor: str, verdict: str, reason: str) -> list[Block]:
    """DM to the author after Request changes or Reject."""
    if verdict == "reject":
        head = f":no_entry: {mention(actor)} rejected draft #{post.id}."
    else:
        head = f":pencil2: {mention(actor)} asked for changes to draft #{post.id}."
    blocks: list[Block] = [section(f"{head}\n>{escape(clip(reason, 2800))}")]
    if verdict != "reject":
        blocks.append(
            ActionsBlock(
                elements=[
                    ButtonElement(
                        text="Edit draft",
                        action_id=EDIT_DRAFT,
                        value=button_value(post),
                        style="primary",
                    )
                ]
            )
        )
    return blocks


def submitted_notice(post: Post, findings: Sequence[Finding], card_link: str | None) -> str:
    worst = post.revision.risk
    risk = (
        "no risk warnings"
        if not findings
        else f"risk *{worst}*, {len(findings)} warning{'s' if len(findings) != 1 else ''}: "
        + "; ".join(sorted({f.category.replace("_", " ") for f in findings}))
    )
    step = post.current_step
    where = (
        f"waiting for *{escape(post.steps[step].name)}* ({approvers(post.steps[step])})"
        if step is not None and post.state == PostState.IN_REVIEW
        else STATE_LABELS[post.state]
    )
    link = f" · <{card_link}|open the card>" if card_link else ""
    return clip(
        f":inbox_tray: Draft #{post.id} (revision {post.revision.number}) is {where}; {risk}{link}",
        3000,
    )


def step_request(post: Post) -> str:
    """Text of the DM that asks an approver to decide."""
    step = post.current_step
    name = post.steps[step].name if step is not None else ""
    by = mention(post.author)
    return f":raised_hand: Draft #{post.id} by {by} waits for your decision ({escape(name)})."


def frozen_banner(freeze: dict[str, str] | None) -> Block:
    if not freeze:
        return ContextBlock(
            elements=[MarkdownTextObject(text=":large_green_circle: Publishing is running.")]
        )
    at = datetime.fromisoformat(freeze["at"])
    return section(
        f":octagonal_sign: *Publishing is frozen* by {mention(freeze['by'])} since {when(at)}: "
        f"{escape(freeze.get('reason', ''))}"
    )
