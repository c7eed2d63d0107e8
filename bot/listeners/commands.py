"""`/greenlight`: one command, a subcommand per task. Answers are private unless they concern the
whole team (a freeze).

A subcommand answers in the acknowledgement itself (the HTTP response body, or the Socket Mode
envelope's payload, which Slack shows as the command's answer), so answering costs no call to
`response_url`; only Redis is read or written before it. What must call Slack first (`draft`
opens a modal; a user group or profile missing from the directory's cache) stops at that point:
the acknowledgement goes out empty, and the subcommand runs again after it (on Bolt's listener
executor) and answers through `response_url`. So a subcommand calls Slack before it writes anything.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.digest import preview
from bot.listeners.after_ack import SlackNeeded, reply_to, soon
from bot.listeners.home import going_out_next
from bot.messaging import slack_error, zone_of
from bot.payloads import BadPayload, typed_text
from bot.runtime import Greenlight
from bot.views.card import approval_card
from bot.views.messages import (
    HELP,
    config_text,
    form_not_opened,
    history_text,
    line_list,
    post_list,
    refusal_text,
)
from bot.views.modals import draft_modal
from workflows.commands import Cancel, Reschedule
from workflows.engine import Engine
from workflows.outcomes import Refusal
from workflows.reminders import away_ends_at
from workflows.scheduler import freeze_publishing, unfreeze_publishing

COMMAND = "/greenlight"


class Request:
    """One `/greenlight` invocation, with what its subcommands need: in the acknowledgement
    (`in_ack`) or after it."""

    def __init__(
        self,
        gl: Greenlight,
        command: dict,
        client: WebClient,
        ack: Ack,
        respond: Respond,
        *,
        in_ack: bool,
    ) -> None:
        self.gl, self.command, self.client, self.respond = gl, command, client, respond
        self._ack, self.acked = ack, not in_ack
        self.user = command["user_id"]
        text = (command.get("text") or "").strip()
        self.words = text.split()
        self.args = self.words[1:]
        #: Everything after the subcommand, line breaks and spacing as typed.
        self.rest = text.split(maxsplit=1)[1] if len(self.words) > 1 else ""
        self.engine: Engine = gl.engine(
            command["team_id"], client, before_slack_call=self.before_slack
        )

    def run(self) -> None:
        name = self.words[0].lower() if self.words else "help"
        if name not in SUBCOMMANDS:
            self.say(f"I don't know `{name[:30]}`.\n\n{HELP}")
            return
        SUBCOMMANDS[name](self)

    def before_slack(self) -> None:
        """Call before any call to Slack."""
        if not self.acked:
            raise SlackNeeded

    def say(self, text: str, blocks: list | None = None, public: bool = False) -> None:
        """The answer: in the acknowledgement while it is still due, else via `response_url`
        (by DM when Slack does not take it: `reply_to`)."""
        if self.acked:
            reply_to(self.respond, self.client, self.command)(text, blocks, public)
            return
        response_type = "in_channel" if public else "ephemeral"
        self._ack(text=text, blocks=blocks, response_type=response_type)
        self.acked = True


def register(app: App, gl: Greenlight) -> None:
    def answer(ack: Ack, body: dict, command: dict, client: WebClient, respond: Respond) -> None:
        missing = [k for k in ("user_id", "team_id") if not command.get(k)]
        if missing:
            raise BadPayload(f"a slash command without {' or '.join(missing)}")
        request = Request(gl, command, client, ack, respond, in_ack=True)
        try:
            request.run()
        except SlackNeeded:  # again after the acknowledgement, answering through response_url
            again = Request(gl, command, client, ack, respond, in_ack=False)
            soon(app, again.run, body, client)
        if not request.acked:
            ack()

    app.command(COMMAND)(answer)


def _help(r: Request) -> None:
    r.say(HELP)


def _draft(r: Request) -> None:
    """Open the draft form, prefilled with the text after the command; should Slack not open
    it (its trigger expired while Slack was slow, say), that text comes back to be copied."""
    r.before_slack()
    typed = typed_text(r.rest)
    try:
        r.client.views_open(
            trigger_id=r.command["trigger_id"],
            view=draft_modal(r.gl.config, r.command.get("channel_id"), text=typed),
        )
    except (SlackApiError, OSError) as exc:
        if not typed:
            raise  # explained like any failure after the acknowledgement
        error = slack_error(exc)
        r.say(f"Slack did not open the draft form ({error})", form_not_opened(error, typed))


def _queue(r: Request) -> None:
    lines = r.gl.queue.lines(r.engine, r.user, r.gl.clock())
    r.say(line_list("Waiting for you", lines, "Nothing waits for your decision."))


def _mine(r: Request) -> None:
    store = r.engine.store
    posts = store.get_many(store.ids_by_author(r.user, limit=30))
    r.say(post_list("Your drafts", posts, r.gl.clock(), "No drafts yet: `/greenlight draft`."))


def _scheduled(r: Request) -> None:
    now = r.gl.clock()
    posts = going_out_next(r.engine.store, now, limit=30)
    r.say(post_list("Going out next", posts, now, "Nothing approved is waiting."))


def _with_post(action: Callable[[Request, str], None]) -> Callable[[Request], None]:
    def run(r: Request) -> None:
        if len(r.args) != 1:
            r.say(f"Which draft? For example `/greenlight {r.words[0]} 12`.\n\n{HELP}")
            return
        action(r, r.args[0].lstrip("#"))

    return run


def _status(r: Request, post_id: str) -> None:
    post = r.engine.post(post_id)
    if post is None:
        r.say(f"There is no draft #{post_id} (it may have expired).")
        return
    blocks = approval_card(post, r.gl.findings(post.revision), whole_text=True)
    r.say(f"Draft #{post.id}", blocks=blocks)


def _history(r: Request, post_id: str) -> None:
    r.say(history_text(post_id, r.engine.store.history(post_id)))


def _cancel(r: Request, post_id: str) -> None:
    post = r.engine.post(post_id)
    if post is None:
        r.say(f"There is no draft #{post_id} (it may have expired).")
        return
    reason = f"cancelled with /greenlight by {r.user}"
    outcome = r.engine.execute(Cancel(r.user, post.id, post.revision.number, reason))
    if isinstance(outcome, Refusal):
        r.say(refusal_text(outcome))
        return
    r.say(f":x: Draft #{post.id} is cancelled.")


def _reschedule(r: Request) -> None:
    """`/greenlight reschedule ID YYYY-MM-DD HH:MM` (the workflow file's time zone), or `now`."""
    if len(r.args) not in (2, 3):
        r.say("Usage: `/greenlight reschedule ID 2026-12-01 09:30`, or `... ID now`.")
        return
    post = r.engine.post(r.args[0].lstrip("#"))
    if post is None:
        r.say(f"There is no draft #{r.args[0].lstrip('#')} (it may have expired).")
        return
    at = None
    if r.args[1].lower() != "now":
        try:
            local = datetime.strptime(" ".join(r.args[1:3]), "%Y-%m-%d %H:%M")
        except ValueError:
            r.say("Write the time as `2026-12-01 09:30` (the team's time zone), or `now`.")
            return
        at = local.replace(tzinfo=ZoneInfo(r.gl.config.timezone))
    outcome = r.engine.execute(Reschedule(r.user, post.id, post.revision.number, at))
    if isinstance(outcome, Refusal):
        r.say(refusal_text(outcome))
        return
    when_text = (
        f"<!date^{int(at.timestamp())}^{{date_short_pretty}} at {{time}}|{at}>" if at else "now"
    )
    r.say(f":calendar: Draft #{post.id} goes out {when_text}; no new approval needed.")


def _freeze(r: Request) -> None:
    if not r.gl.is_admin(r.user):
        r.say(":no_entry_sign: Only admins listed in the workflow file can freeze publishing.")
        return
    targets = []
    words = list(r.args)
    while words and words[0] in r.gl.config.targets:
        targets.append(words.pop(0))
    # An emergency stop does not wait for words: without a reason it freezes all the same.
    reason = " ".join(words).strip() or "no reason given"
    stuck = freeze_publishing(r.engine.store, r.user, reason, r.gl.clock(), tuple(targets))
    scope = f"publishing to {', '.join(targets)}" if targets else "all publishing"
    note = (
        f" Posts {', '.join('#' + s for s in stuck)} were being sent at that moment and may "
        "have gone out; their cards will say."
        if stuck
        else ""
    )
    r.say(f":octagonal_sign: <@{r.user}> froze {scope}: {reason}.{note}", public=True)


def _unfreeze(r: Request) -> None:
    if not r.gl.is_admin(r.user):
        r.say(":no_entry_sign: Only admins listed in the workflow file can unfreeze publishing.")
        return
    if r.engine.store.freeze_state() is None:
        r.say("Publishing is not frozen.")
        return
    held = unfreeze_publishing(r.engine.store, r.gl.config, r.user, r.gl.clock())
    note = (
        f" {held} post(s) whose time came during the freeze are held: publish, reschedule or "
        "cancel them from their cards."
        if held
        else ""
    )
    r.say(f":large_green_circle: <@{r.user}> unfroze publishing.{note}", public=True)


def _digest(r: Request) -> None:
    """The digest as it would go out now, privately, with a button to post it."""
    blocks, text = preview(r.gl, r.engine.store, r.gl.clock())
    r.say(text, blocks=blocks)


_USER = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$|^@?([UW][A-Z0-9]{2,})$")
_AWAY_USAGE = (
    "Usage: `/greenlight away until 2026-08-20` or "
    "`/greenlight away until 2026-08-20 delegate @someone` (away to the end of that day)."
)


def _away(r: Request) -> None:
    """`/greenlight away until YYYY-MM-DD [delegate @user]`; without arguments: the status."""
    store, now = r.engine.store, r.gl.clock()
    if not r.args:
        state = store.away(now).get(r.user)
        if state is None:
            r.say(f"You are not away. {_AWAY_USAGE}")
        else:
            r.say(_away_text(state["until"], state.get("delegate")))
        return
    words = [w.lower() if i % 2 == 0 else w for i, w in enumerate(r.args)]
    if (
        len(words) not in (2, 4)
        or words[0] != "until"
        or (len(words) == 4 and words[2] != "delegate")
    ):
        r.say(_AWAY_USAGE)
        return
    try:
        last_day = date.fromisoformat(words[1])
    except ValueError:
        r.say(f"Write the date as 2026-08-20. {_AWAY_USAGE}")
        return
    delegate = None
    if len(words) == 4:
        match = _USER.match(words[3])
        delegate = match and (match.group(1) or match.group(2))
        if not delegate:
            r.say(f"Name the delegate with an @mention. {_AWAY_USAGE}")
            return
        if delegate == r.user:
            r.say("Your delegate must be someone else.")
            return
    ends_at = away_ends_at(last_day, _zone_of(r, r.user))
    if ends_at <= now:
        r.say(f"{last_day.isoformat()} has already ended; pick a later day.")
        return
    store.set_away(r.user, last_day.isoformat(), ends_at, delegate, now)
    r.say(_away_text(last_day.isoformat(), delegate))


def _away_text(until: str, delegate: str | None) -> str:
    if delegate:
        return (
            f":palm_tree: You are away until the end of {until}. <@{delegate}> may decide for "
            "you and gets your reminders; the audit log and cards say they acted for you. "
            "`/greenlight back` ends it sooner."
        )
    return (
        f":palm_tree: You are away until the end of {until}: no reminders for you meanwhile, "
        "and nobody decides for you (name one with `delegate @someone`). "
        "`/greenlight back` ends it sooner."
    )


def _back(r: Request) -> None:
    if r.engine.store.clear_away(r.user, r.gl.clock()):
        r.say(":wave: Welcome back: you decide and get reminders yourself again.")
    else:
        r.say("You were not away.")


def _zone_of(r: Request, user: str) -> ZoneInfo:
    """The user's time zone from Slack, else the workflow file's."""
    return zone_of(r.engine.directory.user(user), r.gl.config.timezone)  # type: ignore[attr-defined]


def _config(r: Request) -> None:
    r.say(config_text(r.gl.config))


SUBCOMMANDS: dict[str, Callable[[Request], None]] = {
    "help": _help,
    "draft": _draft,
    "queue": _queue,
    "mine": _mine,
    "scheduled": _scheduled,
    "status": _with_post(_status),
    "history": _with_post(_history),
    "cancel": _with_post(_cancel),
    "reschedule": _reschedule,
    "freeze": _freeze,
    "unfreeze": _unfreeze,
    "away": _away,
    "back": _back,
    "digest": _digest,
    "config": _config,
}
