"""Events: messages in intake channels become drafts (edits revise them, deletes withdraw
them); opening App Home shows what waits."""

from __future__ import annotations

from slack_bolt import App
from slack_sdk import WebClient

from bot.listeners.after_ack import after_ack
from bot.listeners.home import publish_home
from bot.payloads import typed_text
from bot.runtime import Greenlight
from bot.views.messages import FILES_NOT_CARRIED, not_withdrawn, refusal_text
from workflows.commands import Revise, Submit, Withdraw
from workflows.models import Source
from workflows.outcomes import Refusal, RefusalCode

#: Message subtypes that are not a person writing a draft (joins, topic changes, bots...).
_DRAFT_SUBTYPES = {None, "file_share"}


def register(app: App, gl: Greenlight) -> None:
    def on_message(event: dict, body: dict, client: WebClient) -> None:
        channel = event.get("channel")
        if channel not in gl.config.intake.channels:
            return
        team = body.get("team_id") or event.get("team")
        subtype = event.get("subtype")
        message = event.get("message") or {}
        if subtype == "message_changed" and message.get("subtype") == "tombstone":
            # A deleted message that has replies (Greenlight's own, under every intake draft)
            # stays as a tombstone: Slack sends this edit, not `message_deleted`.
            _deleted(gl, team, client, channel, message)
        elif subtype == "message_changed":
            _edited(gl, team, client, channel, message)
        elif subtype == "message_deleted":
            _deleted(gl, team, client, channel, event.get("previous_message") or {})
        elif subtype in _DRAFT_SUBTYPES and _is_human_top_level(event):
            _new_draft(gl, team, client, channel, event)

    def on_home_opened(event: dict, body: dict, client: WebClient) -> None:
        if event.get("tab", "home") == "home":
            publish_home(gl, body["team_id"], event["user"], client)

    app.event("message")(**after_ack(on_message))
    app.event("app_home_opened")(**after_ack(on_home_opened))


def _is_human_top_level(event: dict) -> bool:
    if event.get("bot_id") or not event.get("user"):
        return False
    thread = event.get("thread_ts")
    return thread is None or thread == event.get("ts")


def _new_draft(gl: Greenlight, team: str, client: WebClient, channel: str, event: dict) -> None:
    ts = event["ts"]
    engine = gl.engine(team, client)

    def answer(text: str) -> None:
        """Under the message, once (not again for Slack's retry of the event, unless this
        one failed)."""
        what = f"intake:{channel}:{ts}"
        if engine.store.report_once(what):
            try:
                client.chat_postMessage(channel=channel, thread_ts=ts, text=text)
            except Exception:
                engine.store.unreport(what)
                raise

    if event.get("files"):  # a draft is text: it must not go out without its image
        answer(FILES_NOT_CARRIED)
        return
    names = gl.directory(team, client).name
    outcome = engine.execute(
        Submit(
            actor=event["user"],
            text=typed_text(event.get("text") or "", names),
            channel=channel,
            source=Source(channel=channel, ts=ts),
            source_key=f"{channel}:{ts}",  # a retried event finds the same draft
        )
    )
    if isinstance(outcome, Refusal):
        answer(refusal_text(outcome))


def _edited(gl: Greenlight, team: str, client: WebClient, channel: str, message: dict) -> None:
    engine = gl.engine(team, client)
    post_id = engine.store.post_id_for_source(f"{channel}:{message.get('ts')}")
    post = engine.post(post_id) if post_id else None
    if post is None:
        return
    user = message.get("user") or post.author
    text = typed_text(message.get("text") or "", gl.directory(team, client).name)
    outcome = engine.execute(Revise(user, post.id, post.revision.number, text=text))
    if isinstance(outcome, Refusal) and outcome.code != RefusalCode.NOTHING_CHANGED:
        # (a replayed edit changes nothing and needs no answer)
        client.chat_postEphemeral(channel=channel, user=user, text=refusal_text(outcome))


def _deleted(gl: Greenlight, team: str, client: WebClient, channel: str, previous: dict) -> None:
    engine = gl.engine(team, client)
    post_id = engine.store.post_id_for_source(f"{channel}:{previous.get('ts')}")
    post = engine.post(post_id) if post_id else None
    if post is None or post.finished:
        return
    outcome = engine.execute(Withdraw(post.author, post.id, post.revision.number))
    if isinstance(outcome, Refusal):  # publishing began: the post goes on, and they must know
        client.chat_postMessage(channel=post.author, text=not_withdrawn(post, outcome))
