"""Modal submissions: a new draft, an edited draft, the reason for Reject / Request changes, a
new time for an approved post."""

from __future__ import annotations

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.listeners.home import publish_home
from bot.payloads import (
    BadPayload,
    DraftInput,
    DraftMetadata,
    NewTimeMetadata,
    PostRef,
    ReasonMetadata,
    draft_input,
    new_time_input,
    parse,
    reason_input,
)
from bot.runtime import Greenlight
from bot.views.messages import refusal_text
from bot.views.modals import DRAFT, EDIT, NEW_TIME, REASON
from workflows.commands import (
    KEEP,
    Approve,
    Reject,
    RequestChanges,
    Reschedule,
    Revise,
    Submit,
)
from workflows.outcomes import Refusal


def register(app: App, gl: Greenlight) -> None:
    def submit_draft(ack: Ack, body: dict, view: dict, client: WebClient) -> None:
        values = draft_input(view["state"]["values"])
        errors = _draft_errors(values, gl)
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        user, engine = body["user"]["id"], gl.engine(body["team"]["id"], client)
        try:
            channel = parse(DraftMetadata, view.get("private_metadata")).channel
        except BadPayload:
            channel = None
        outcome = engine.execute(
            Submit(
                actor=user,
                text=values.text,
                targets=values.targets,
                scheduled_at=values.scheduled_at,
                campaign=values.campaign,
                workflow=values.workflow,
                channel=channel,
                urgent=values.urgent,
            )
        )
        if isinstance(outcome, Refusal):
            client.chat_postMessage(channel=user, text=refusal_text(outcome))

    def save_edit(ack: Ack, body: dict, view: dict, client: WebClient) -> None:
        values = draft_input(view["state"]["values"])
        errors = _draft_errors(values, gl)
        try:
            ref = parse(PostRef, view.get("private_metadata"))
        except BadPayload as exc:
            errors["text"] = str(exc)
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        user, engine = body["user"]["id"], gl.engine(body["team"]["id"], client)
        outcome = engine.execute(
            Revise(
                actor=user,
                post_id=ref.post_id,
                revision=ref.revision,
                text=values.text,
                targets=values.targets if values.targets is not None else KEEP,
                scheduled_at=values.scheduled_at,
                campaign=values.campaign,
                urgent=values.urgent,
            )
        )
        if isinstance(outcome, Refusal):
            client.chat_postMessage(channel=user, text=refusal_text(outcome))
            return

    def give_reason(ack: Ack, body: dict, view: dict, client: WebClient) -> None:
        reason = reason_input(view["state"]["values"])
        try:
            meta = parse(ReasonMetadata, view.get("private_metadata"))
        except BadPayload as exc:
            ack(response_action="errors", errors={"reason": str(exc)})
            return
        if not reason:
            ack(response_action="errors", errors={"reason": "Please write a reason."})
            return
        ack()
        user, engine = body["user"]["id"], gl.engine(body["team"]["id"], client)
        step = meta.step or 0
        command = {
            "approve": lambda: Approve(user, meta.post_id, meta.revision, step, reason),
            "reject": lambda: Reject(user, meta.post_id, meta.revision, step, reason),
            "request_changes": lambda: RequestChanges(
                user, meta.post_id, meta.revision, step, reason
            ),
        }[meta.verdict]()
        outcome = engine.execute(command)
        if isinstance(outcome, Refusal):
            client.chat_postMessage(channel=user, text=refusal_text(outcome))
            return

    def set_new_time(ack: Ack, body: dict, view: dict, client: WebClient) -> None:
        """The engine decides before the modal closes, so a refusal (a time in the past, a
        blackout window and its reason, a post that can no longer move, someone who may not
        move it) shows in the modal, under the time."""
        try:
            meta = parse(NewTimeMetadata, view.get("private_metadata"))
            at = new_time_input(view["state"]["values"], gl.config.timezone)
        except BadPayload as exc:
            ack(response_action="errors", errors={"time": str(exc)})
            return
        if at is None:
            ack(response_action="errors", errors={"time": "Pick a date and a time."})
            return
        user, team = body["user"]["id"], body["team"]["id"]
        outcome = gl.engine(team, client).execute(Reschedule(user, meta.post_id, meta.revision, at))
        if isinstance(outcome, Refusal):
            ack(response_action="errors", errors={"time": outcome.message})
            return
        ack()
        if meta.from_home:
            publish_home(gl, team, user, client)

    app.view(DRAFT)(submit_draft)
    app.view(NEW_TIME)(set_new_time)
    app.view(EDIT)(save_edit)
    app.view(REASON)(give_reason)


def _draft_errors(values: DraftInput, gl: Greenlight) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not values.text.strip():
        errors["text"] = "Write the text of the post."
    if values.scheduled_at is not None and values.scheduled_at <= gl.clock():
        errors["schedule"] = "Pick a time in the future, or leave it empty to publish on approval."
    return errors
