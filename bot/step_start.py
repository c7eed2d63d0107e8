"""What Slack hears as a step of a draft starts, besides its card: who gets the card by DM,
and what the author is told.

The author's notice says where the draft waits, with its risk summary and a link to the card
when the draft was just submitted or revised, and what keeps approvers from getting the card:
people the step names who left Slack, more approvers than get a DM. It goes out once per step
(claimed, as the approvers' DMs are). One that Slack could not take waits a minute for a
worker's reminders pass (`bot.reminders.Nudger`): telling the step's audit entry again would
post a second card.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.directory import SlackDirectory
from bot.messaging import people_of, send_once, tell_author
from bot.runtime import Greenlight
from bot.views.messages import left_slack, submitted_notice, too_many_to_dm
from workflows.models import Post
from workflows.store import Store

#: As a step starts, each of its approvers gets its card by DM, up to this many people (a
#: step naming a huge user group would otherwise DM a whole company at once); past it the
#: rest find it in their `/greenlight queue`, and the author is told. Reminders and
#: escalations go to each undecided approver the workflow file asks for.
MAX_DMS_PER_STEP = 100
#: The kinds of the author's notice (`send_once`): the draft was submitted or revised and its
#: first step started, with something to say or not; a later step started, and something keeps
#: some approvers from getting the card.
SUBMITTED, STEP_STARTED = "submitted", "step_started"
AUTHOR_NOTICES = (SUBMITTED, STEP_STARTED)


@dataclass(frozen=True)
class Audience:
    """The approvers of the post's current step who get its card by DM, how many could get it
    (`reachable`), and the users the step names who left Slack."""

    dm: list[str]
    reachable: int
    gone: list[str]


def audience(gl: Greenlight, directory: SlackDirectory, post: Post) -> Audience:
    """Who the current step's card goes to (the directory may ask Slack: call it before
    posting anything, so a failure leaves nothing half-told)."""
    assert post.current_step is not None
    run = post.steps[post.current_step]
    people = people_of(directory, run.users, run.usergroups)
    workflow = gl.config.workflow_named(post.workflow)
    if not (workflow and workflow.allow_self_approval):
        people = [p for p in people if p != post.author]
    gone = [p for p in run.users if not directory.active(p)]
    reachable = [p for p in people if p not in gone]
    return Audience(reachable[:MAX_DMS_PER_STEP], len(reachable), gone)


def tell_author_once(
    gl: Greenlight,
    client: WebClient,
    store: Store,
    post: Post,
    kind: str,
    who: Audience,
    card: tuple[str, str] | None = None,
    waiting: bool = False,
) -> datetime | None:
    """The author's notice of the current step (`kind`, one of AUTHOR_NOTICES), once;
    `card` is where the step's card was just posted (else it is looked for among the post's
    messages, for its link). Returns when it is tried again, when Slack could not take it.
    A STEP_STARTED notice with nothing to say is not sent; one `waiting` to be sent again
    (`Store.dm_waits`) is then done with (the people who left are back, say)."""
    assert post.current_step is not None
    run = post.steps[post.current_step]
    warnings = []
    if who.gone:
        warnings.append(left_slack(run.name, who.gone))
    if who.reachable > len(who.dm):
        warnings.append(too_many_to_dm(post, run.name, who.reachable, len(who.dm)))
    if kind == STEP_STARTED and not warnings:
        if waiting:
            store.claim_dm(post.id, post.revision.number, post.current_step, post.author, kind)
        return None

    def send() -> str | None:
        if kind != SUBMITTED:
            return tell_author(client, post, "\n".join(warnings))
        link = _card_link(client, card or _card_of(gl, store, post))
        notice = submitted_notice(post, gl.findings(post.revision), link)
        return tell_author(client, post, "\n".join([notice, *warnings]))

    return send_once(store, post, post.author, kind, send, gl.clock)[1]


def _card_of(gl: Greenlight, store: Store, post: Post) -> tuple[str, str] | None:
    """The current step's card in its channel, as the post's messages remember it: the
    newest there (earlier revisions and steps may have theirs in the same channel)."""
    assert post.current_step is not None
    run = post.steps[post.current_step]
    channel = run.channel or gl.config.approvals_channel
    cards = [m for m in store.messages(post.id) if m[0] == channel]
    return max(cards, key=lambda m: float(m[1]), default=None)


def _card_link(client: WebClient, card: tuple[str, str] | None) -> str | None:
    if card is None:
        return None
    try:
        return client.chat_getPermalink(channel=card[0], message_ts=card[1])["permalink"]
    except (SlackApiError, OSError):  # the notice goes without its link
        return None
