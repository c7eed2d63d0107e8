"""The daily digest as Block Kit, and the personal digest DM. Every section stays inside
Slack's limits however busy the day: lists are cut to what fits, and what is cut is counted
and linked to the command that shows it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from itertools import groupby

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
)

from bot.views.format import clip, escape, mention, when
from bot.views.messages import frozen_banner, overdue, post_list, section
from workflows.analytics import Waits
from workflows.digest import DigestData, Section
from workflows.models import DeliveryStatus, Post, PostState

POST_DIGEST = "gl_digest_post"
#: Room left in a 3,000-character section for the "and N more" line.
SECTION_ROOM = 2800


def digest_blocks(
    data: DigestData, title: str, post_to: Sequence[str] = (), preview: bool = False
) -> list[Block]:
    """The digest message; a `preview` (private) gets a button per `post_to` channel."""
    blocks: list[Block] = [HeaderBlock(text=clip(title, 150))]
    if data.late and data.due_at is not None:
        blocks.append(
            _context(
                f":hourglass: Late: this digest was due {when(data.due_at)} and could not go "
                "out then (no worker was running, or Slack was unavailable)."
            )
        )
    blocks.append(frozen_banner(data.freeze))
    blocks += [
        section(_waiting(data)),
        section(_list("Going out in the next 24 hours", data.scheduled, _scheduled_line, "queue")),
        section(_list("Published since the last digest", data.published, _published_line)),
        section(_list("Needs a human", data.needs_human, _needs_human_line, "status ID")),
        section(
            _list(
                "Rejected or sent back since the last digest",
                Section(
                    data.rejected.posts + data.changes_requested.posts,
                    data.rejected.total + data.changes_requested.total,
                ),
                _closed_line,
                "mine",
            )
        ),
    ]
    if data.blackouts:
        blocks.append(section(_blackouts(data)))
    blocks += [DividerBlock(), section(_numbers(data))]
    blocks.append(
        _context(
            f"Covers {when(data.since)} to {when(data.now)}. `/greenlight queue` shows what "
            "waits for you, `/greenlight status ID` opens a card."
        )
    )
    if preview and not post_to:
        blocks.append(
            _context(
                "Only you see this preview. No daily digest is configured: add `digest:` to the "
                "workflow file to post one to a channel every morning."
            )
        )
    if preview and post_to:
        shown = post_to[:5]
        blocks.append(
            _context(
                "Only you see this preview. Post it for the team in "
                + ", ".join(
                    f"{i}. <#{c}>" if len(shown) > 1 else f"<#{c}>" for i, c in enumerate(shown, 1)
                )
                + ":"
            )
        )
        blocks.append(
            ActionsBlock(
                elements=[
                    ButtonElement(
                        text=f"Post in channel {i}" if len(shown) > 1 else "Post in the channel",
                        action_id=f"{POST_DIGEST}_{i}",
                        value=channel,
                    )
                    for i, channel in enumerate(shown, 1)
                ]
            )
        )
    return blocks


def digest_fallback(data: DigestData) -> str:
    return (
        f"Greenlight digest: {data.waiting.total} waiting for approval, "
        f"{data.scheduled.total} going out in the next 24 hours, "
        f"{data.needs_human.total} need a human."
    )


def personal_digest(posts: Sequence[Post], now: datetime) -> str:
    """The DM of an approver's own queue."""
    return (
        post_list(
            f":wave: Good morning! {len(posts)} draft(s) wait for your decision",
            posts,
            now,
            "Nothing waits for you today.",
        )
        + "\n`/greenlight queue` shows them with their cards."
    )


# -- sections ------------------------------------------------------------------------------


def _waiting(data: DigestData) -> str:
    title = f"*Waiting for approval* ({data.waiting.total})"
    if not data.waiting.posts:
        return f"{title}\nNothing waits. :tada:"
    lines = [title]
    for step, posts in groupby(
        sorted(data.waiting.posts, key=lambda p: _step_name(p)), key=_step_name
    ):
        lines.append(f"_{escape(step)}_")
        lines += [_waiting_line(p, data.now) for p in posts]
    return _fit(lines, data.waiting.hidden, "queue")


def _list(
    title: str,
    found: Section,
    line: Callable[[Post], str],
    command: str | None = None,
) -> str:
    heading = f"*{title}* ({found.total})"
    if not found.posts:
        return f"{heading}\nNone."
    return _fit([heading, *(line(p) for p in found.posts)], found.hidden, command)


def _fit(lines: list[str], hidden: int, command: str | None) -> str:
    """Join lines up to what a section holds; count what did not fit."""
    kept: list[str] = []
    size = 0
    for line in lines:
        if size + len(line) + 1 > SECTION_ROOM:
            break
        kept.append(line)
        size += len(line) + 1
    more = hidden + len(lines) - len(kept)
    if more:
        where = f": `/greenlight {command}`" if command else ""
        kept.append(f"…and {more} more{where}")
    return "\n".join(kept)


def _step_name(post: Post) -> str:
    step = post.current_step
    return post.steps[step].name if step is not None else "(no step)"


def _excerpt(post: Post) -> str:
    return f"“{escape(clip(' '.join(post.revision.text.split()), 70))}”"


def _waiting_line(post: Post, now: datetime) -> str:
    run = post.steps[post.current_step] if post.current_step is not None else None
    since = post.waiting_since or post.updated_at
    mark = " :rotating_light: *overdue*" if overdue(post, now) else ""
    holders = ""
    if run is not None:
        voted = {v.actor for v in run.votes}
        waiting_on = [u for u in run.users if u not in voted] + list(run.usergroups)
        holders = f" · with {', '.join(mention(i) for i in waiting_on[:4]) or 'nobody'}"
    return f"• *#{post.id}* · {_age(now - since)}{mark}{holders} · {_excerpt(post)}"


def _scheduled_line(post: Post) -> str:
    at = post.revision.scheduled_at or post.updated_at
    return f"• *#{post.id}* · {when(at)} · {', '.join(post.revision.targets)} · {_excerpt(post)}"


def _published_line(post: Post) -> str:
    links = [
        f"<{d.permalink}|{escape(d.target)}>" if d.permalink else escape(d.target)
        for d in post.deliveries
        if d.status == DeliveryStatus.PUBLISHED
    ]
    return f"• *#{post.id}* · {', '.join(links) or 'published'} · {_excerpt(post)}"


def _needs_human_line(post: Post) -> str:
    if post.state == PostState.HELD:
        why = f"held: {escape(clip(post.closing_reason or 'its time passed', 120))}"
    else:
        troubles = [
            f"{escape(d.target)} {d.status.value.replace('_', ' ')}"
            + (f" ({escape(clip(d.error, 100))})" if d.error else "")
            for d in post.deliveries
            if d.status in (DeliveryStatus.FAILED, DeliveryStatus.OUTCOME_UNKNOWN)
        ]
        why = "; ".join(troubles) or post.state.value.replace("_", " ")
    return f"• *#{post.id}* · {why} · {_excerpt(post)}"


def _closed_line(post: Post) -> str:
    votes = [v for run in post.steps for v in run.votes if v.verdict != "approve"]
    last = votes[-1] if votes else None
    verb = "rejected" if post.state == PostState.REJECTED else "sent back"
    by = f" by {mention(last.actor)}" if last else ""
    reason = last.reason if last and last.reason else post.closing_reason
    said = f": “{escape(clip(reason, 140))}”" if reason else ""
    return f"• *#{post.id}* · {verb}{by}{said}"


def _blackouts(data: DigestData) -> str:
    lines = ["*Upcoming blackout windows*"]
    for b in data.blackouts:
        scope = f" ({', '.join(b.targets)})" if b.targets else ""
        lines.append(f"• {when(b.start)} to {when(b.end)}{scope}: {escape(clip(b.reason, 150))}")
    return _fit(lines, 0, None)


def _numbers(data: DigestData) -> str:
    n = data.numbers
    lines = [
        "*The last 7 days*",
        f"{n.submitted} draft(s) in · {n.approved} approved · {n.rejected} rejected · "
        f"{n.changes_requested} sent back · {n.published} published · {n.failed} failed",
    ]
    if n.to_approval:
        lines.append(f"Submit → approval: {_waits(n.to_approval)}")
    if n.by_step:
        lines.append(
            "By step: " + "; ".join(f"{escape(k)} {_waits(w)}" for k, w in n.by_step.items())
        )
    if n.by_approver:
        ranked = sorted(n.by_approver.items(), key=lambda kv: -kv[1].count)[:8]
        lines.append("By approver: " + "; ".join(f"{mention(k)} {_waits(w)}" for k, w in ranked))
    if n.top_reasons:
        lines.append(
            "Top rejection reasons: "
            + "; ".join(f"“{escape(clip(r, 60))}” ×{c}" for r, c in n.top_reasons)
        )
    if n.top_risks:
        lines.append(
            "Most frequent risk warnings: "
            + ", ".join(f"{r.replace('_', ' ')} ×{c}" for r, c in n.top_risks)
        )
    return _fit(lines, 0, None)


def _waits(w: Waits) -> str:
    return f"median {_age(w.median)}, p90 {_age(w.p90)} ({w.count})"


def _age(span: timedelta) -> str:
    minutes = max(int(span.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {mins}m"
    return f"{mins}m"


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=clip(text, 3000))])
