"""The message shortcut "Send for approval": any message becomes a draft of the person asking."""

from __future__ import annotations

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.listeners.after_ack import after_ack, reply_to
from bot.payloads import typed_text
from bot.runtime import Greenlight
from bot.views.messages import FILES_NOT_CARRIED, refusal_text
from workflows.commands import Submit
from workflows.models import Source
from workflows.outcomes import Refusal

SEND_FOR_APPROVAL = "gl_send_for_approval"


def register(app: App, gl: Greenlight) -> None:
    def send_for_approval(ack: Ack, body: dict, client: WebClient, respond: Respond) -> None:
        ack()
        say = reply_to(respond, client, body)
        user, message = body["user"]["id"], body.get("message") or {}
        channel = (body.get("channel") or {}).get("id")
        if message.get("files"):
            say(FILES_NOT_CARRIED)
            return
        team = body["team"]["id"]
        engine = gl.engine(team, client)
        outcome = engine.execute(
            Submit(
                actor=user,
                text=typed_text(message.get("text") or "", gl.directory(team, client).name),
                channel=channel,
                # Replies go under the message only in an intake channel (elsewhere it may be
                # anyone's, in any channel): the author hears by DM.
                source=(
                    Source(channel=channel, ts=message.get("ts"))
                    if channel in gl.config.intake.channels
                    else None
                ),
                source_key=f"{channel}:{message.get('ts')}",
            )
        )
        if isinstance(outcome, Refusal):
            say(refusal_text(outcome))
        elif outcome.replayed:
            say(f"That message is already draft #{outcome.post.id}.")

    app.shortcut(SEND_FOR_APPROVAL)(**after_ack(send_for_approval))
