"""Modal submissions: a new draft, an edited draft, the reason for Reject / Request changes, a
new time for an approved post."""

from __future__ import annotations

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.listeners.after_ack import lazy
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
from workflows.outcomes import Outcome, Refusal


def register(app: App, gl: Greenlight) -> None:
    """Each form is checked in the acknowledgement (Slack shows the errors in the form); the
    engine and any DM run after it, for forms that passed."""

    def check_draft(ack: Ack, view: dict, context: BoltContext) -> None:
        _answer(ack, context, _draft_errors(draft_input(view["state"]["values"]), gl))

    def submit_draft(body: dict, view: dict, client: WebClient, context: BoltContext) -> None:
        if not context.get(_VALID):
            return
        values = draft_input(view["state"]["values"])
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
        _dm_refusal(client, user, outcome)

    def check_edit(ack: Ack, view: dict, context: BoltContext) -> None:
        errors = _draft_errors(draft_input(view["state"]["values"]), gl)
        try:
            parse(PostRef, view.get("private_metadata"))
        except BadPayload as exc:
            errors["text"] = str(exc)
        _answer(ack, context, errors)

    def save_edit(body: dict, view: dict, client: WebClient, context: BoltContext) -> None:
        if not context.get(_VALID):
            return
        values = draft_input(view["state"]["values"])
        ref = parse(PostRef, view.get("private_metadata"))
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
        _dm_refusal(client, user, outcome)

    def check_reason(ack: Ack, view: dict, context: BoltContext) -> None:
        try:
            parse(ReasonMetadata, view.get("private_metadata"))
        except BadPayload as exc:
            _answer(ack, context, {"reason": str(exc)})
            return
        if not reason_input(view["state"]["values"]):
            _answer(ack, context, {"reason": "Please write a reason."})
            return
        _answer(ack, context, {})

    def give_reason(body: dict, view: dict, client: WebClient, context: BoltContext) -> None:
        if not context.get(_VALID):
            return
        reason = reason_input(view["state"]["values"])
        meta = parse(ReasonMetadata, view.get("private_metadata"))
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
        _dm_refusal(client, user, outcome)

    def set_new_time(ack: Ack, body: dict, view: dict, client: WebClient, context: BoltContext):
        """The engine decides in the acknowledgement (Redis only), so a refusal (a time in the
        past, a blackout window and its reason, a post that can no longer move, someone who
        may not move it) shows in the modal, under the time."""
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
        context[_HOME_CHANGED] = meta.from_home

    def refresh_home(body: dict, client: WebClient, context: BoltContext) -> None:
        if context.get(_HOME_CHANGED):
            publish_home(gl, body["team"]["id"], body["user"]["id"], client)

    app.view(DRAFT)(ack=check_draft, lazy=[lazy(submit_draft)])
    app.view(EDIT)(ack=check_edit, lazy=[lazy(save_edit)])
    app.view(REASON)(ack=check_reason, lazy=[lazy(give_reason)])
    app.view(NEW_TIME)(ack=set_new_time, lazy=[lazy(refresh_home)])


#: Set in the context by a check that passed; the work after the acknowledgement reads it.
_VALID = "greenlight_form_valid"
#: Set when a reschedule from App Home succeeded: the Home tab is published again afterwards.
_HOME_CHANGED = "greenlight_home_changed"


def _answer(ack: Ack, context: BoltContext, errors: dict[str, str]) -> None:
    if errors:
        ack(response_action="errors", errors=errors)
        return
    context[_VALID] = True
    ack()


def _draft_errors(values: DraftInput, gl: Greenlight) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not values.text.strip():
        errors["text"] = "Write the text of the post."
    if values.scheduled_at is not None and values.scheduled_at <= gl.clock():
        errors["schedule"] = "Pick a time in the future, or leave it empty to publish on approval."
    return errors


def _dm_refusal(client: WebClient, user: str, outcome: Outcome) -> None:
    """After the form closed, a refusal can only reach the person by DM."""
    if isinstance(outcome, Refusal):
        client.chat_postMessage(channel=user, text=refusal_text(outcome))
