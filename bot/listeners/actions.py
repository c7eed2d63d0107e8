"""Buttons: Approve, Request changes, Reject on approval cards; Edit draft in author notices;
Post to channel under a digest preview; Publish now, Reschedule, Cancel, "it went out" and
Retry on approved posts' cards (and Reschedule in App Home)."""

from __future__ import annotations

import re
from collections.abc import Callable

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.digest import DigestSend, digest_title
from bot.listeners.after_ack import SlackNeeded, after_ack, reply_to, slack_needed, soon
from bot.payloads import BadPayload, PostRef, parse
from bot.runtime import Greenlight
from bot.views.card import (
    APPROVE,
    CANCEL,
    EDIT_DRAFT,
    MARK_PUBLISHED,
    PUBLISH_NOW,
    REJECT,
    REQUEST_CHANGES,
    RESCHEDULE,
    RETRY,
)
from bot.views.digest import POST_DIGEST
from bot.views.messages import refusal_text, too_long_to_edit
from bot.views.modals import TEXT_LIMIT, edit_modal, reason_modal, reschedule_modal
from workflows.commands import (
    Approve,
    Cancel,
    Reject,
    RequestChanges,
    Reschedule,
    ResolveDelivery,
)
from workflows.digest import build_digest
from workflows.engine import Engine
from workflows.models import RESCHEDULABLE, REVISABLE
from workflows.outcomes import Refusal, RefusalCode

#: Stands in for the reason while judging whether the clicker may decide at all.
_PENDING_REASON = "(reason to be written)"


def register(app: App, gl: Greenlight) -> None:
    def approve(ack: Ack, body: dict, client: WebClient, respond: Respond) -> None:
        """The engine decides in the acknowledgement, from Redis alone, so a click is decided
        when Slack gets its answer; Slack is called afterwards only to explain a refusal, to ask
        for a justification, or when the directory must ask Slack who is in a user group."""
        ack()
        try:
            ref = parse(PostRef, body["actions"][0].get("value"))
        except BadPayload as exc:
            problem = f":no_entry_sign: {exc}"
            soon(app, lambda: reply_to(respond, client, body)(problem), body, client)
            return
        step = ref.step
        if step is None:
            return
        user, team = body["user"]["id"], body["team"]["id"]

        def decide(engine: Engine) -> None:
            outcome = engine.execute(Approve(user, ref.post_id, ref.revision, step))
            if isinstance(outcome, Refusal) and outcome.code == RefusalCode.JUSTIFICATION_REQUIRED:
                post = engine.post(ref.post_id)
                if post is not None:  # ask for it; the approval happens on submit
                    view = reason_modal(post, step, "approve")
                    soon(
                        app,
                        lambda: client.views_open(trigger_id=body["trigger_id"], view=view),
                        body,
                        client,
                    )
            elif isinstance(outcome, Refusal):
                text = refusal_text(outcome)
                soon(app, lambda: reply_to(respond, client, body)(text), body, client)

        try:
            decide(gl.engine(team, client, before_slack_call=slack_needed))
        except SlackNeeded:  # a user group not in the directory cache: decide right after
            soon(app, lambda: decide(gl.engine(team, client)), body, client)

    def ask_reason(ack: Ack, body: dict, client: WebClient, respond: Respond) -> None:
        ack()
        say = reply_to(respond, client, body)
        ref = _ref(body, say)
        if ref is None or ref.step is None:
            return
        user, engine = body["user"]["id"], gl.engine(body["team"]["id"], client)
        verdict = "reject" if body["actions"][0]["action_id"] == REJECT else "request_changes"
        command_type = Reject if verdict == "reject" else RequestChanges
        refusal = engine.judge(
            command_type(user, ref.post_id, ref.revision, ref.step, _PENDING_REASON)
        )
        if refusal:
            say(refusal_text(refusal))
            return
        post = engine.post(ref.post_id)
        if post is not None:
            client.views_open(
                trigger_id=body["trigger_id"], view=reason_modal(post, ref.step, verdict)
            )

    def edit_draft(ack: Ack, body: dict, client: WebClient, respond: Respond) -> None:
        ack()
        say = reply_to(respond, client, body)
        ref = _ref(body, say)
        if ref is None:
            return
        user, engine = body["user"]["id"], gl.engine(body["team"]["id"], client)
        post = engine.post(ref.post_id)
        problem = None
        if post is None:
            problem = f"Draft #{ref.post_id} no longer exists."
        elif user != post.author and not gl.is_admin(user):
            problem = f"Only the author of draft #{post.id} or an admin can edit it."
        elif post.state not in REVISABLE:
            problem = f"Draft #{post.id} is {post.state.value.replace('_', ' ')}: too late to edit."
        elif len(post.revision.text) > TEXT_LIMIT:  # the form would cut it: its end would be lost
            problem = too_long_to_edit(post, TEXT_LIMIT)
        if problem or post is None:
            say(f":no_entry_sign: {problem}")
            return
        client.views_open(trigger_id=body["trigger_id"], view=edit_modal(gl.config, post))

    def after_approval(ack: Ack, body: dict, client: WebClient, respond: Respond) -> None:
        """Publish now, Cancel, "it went out" and Retry on approved posts' cards."""
        ack()
        say = reply_to(respond, client, body)
        ref = _ref(body, say)
        if ref is None:
            return
        user, engine = body["user"]["id"], gl.engine(body["team"]["id"], client)
        action = body["actions"][0]["action_id"]
        if action in (MARK_PUBLISHED, RETRY) and not ref.target:
            say(":no_entry_sign: This button names no target.")
            return
        command = {
            PUBLISH_NOW: lambda: Reschedule(user, ref.post_id, ref.revision, None),
            CANCEL: lambda: Cancel(user, ref.post_id, ref.revision, f"cancelled by {user}"),
            MARK_PUBLISHED: lambda: ResolveDelivery(
                user, ref.post_id, ref.revision, ref.target or "", "published"
            ),
            RETRY: lambda: ResolveDelivery(
                user, ref.post_id, ref.revision, ref.target or "", "retry"
            ),
        }[action]()
        outcome = engine.execute(command)
        if isinstance(outcome, Refusal):
            say(refusal_text(outcome))
            return

    def post_digest(ack: Ack, body: dict, client: WebClient, respond: Respond) -> None:
        """Post the digest as it is now to a configured digest channel."""
        ack()
        say = reply_to(respond, client, body)
        channel = body["actions"][0].get("value")
        digest = next((d for d in gl.config.digest if d.channel == channel), None)
        if digest is None:
            say(":no_entry_sign: That channel is not a digest channel of the workflow file.")
            return
        now = gl.clock()
        store = gl.store(body["team"]["id"])
        send = DigestSend(gl, client, store)
        data = build_digest(store, gl.config, now, store.last_digest(digest.key))
        day = now.astimezone(gl.config.digest_zone(digest)).date()
        outcome = send.post(channel, data, digest_title(day))
        text = (
            f":white_check_mark: Posted the digest in <#{channel}>."
            if outcome == "sent"
            else f":warning: {send.problems[0]}"
        )
        say(text)

    def reschedule(ack: Ack, body: dict, client: WebClient, respond: Respond) -> None:
        """Open the date and time picker, for the author or an admin of a post that can move."""
        ack()
        user = body["user"]["id"]
        from_home = body.get("container", {}).get("type") == "view"
        tell = reply_to(respond, client, body)  # a button in App Home: by DM
        try:
            ref = parse(PostRef, body["actions"][0].get("value"))
        except BadPayload as exc:
            tell(f":no_entry_sign: {exc}")
            return
        post = gl.engine(body["team"]["id"], client).post(ref.post_id)
        problem = None
        if post is None:
            problem = f"Draft #{ref.post_id} no longer exists."
        elif user != post.author and not gl.is_admin(user):
            problem = f"Only the author of post {post.id} or an admin can reschedule it."
        elif post.state not in RESCHEDULABLE:
            problem = (
                f"Post {post.id} is {post.state.value.replace('_', ' ')}: only approved, "
                "scheduled or held posts can be rescheduled."
            )
        if problem or post is None:
            tell(f":no_entry_sign: {problem}")
            return
        client.views_open(
            trigger_id=body["trigger_id"],
            view=reschedule_modal(post, gl.config.timezone, gl.clock(), from_home),
        )

    app.action(APPROVE)(approve)  # first: the most frequent click
    app.action(re.compile(f"^{POST_DIGEST}_\\d+$"))(**after_ack(post_digest))
    app.action(RESCHEDULE)(**after_ack(reschedule))
    for action_id in (PUBLISH_NOW, CANCEL, MARK_PUBLISHED, RETRY):
        app.action(action_id)(**after_ack(after_approval))
    app.action(REQUEST_CHANGES)(**after_ack(ask_reason))
    app.action(REJECT)(**after_ack(ask_reason))
    app.action(EDIT_DRAFT)(**after_ack(edit_draft))


def _ref(body: dict, say: Callable[[str], None]) -> PostRef | None:
    try:
        return parse(PostRef, body["actions"][0].get("value"))
    except BadPayload as exc:
        say(f":no_entry_sign: {exc}")
        return None
