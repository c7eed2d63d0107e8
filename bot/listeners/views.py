"""Modal submissions: a new draft, an edited draft, the reason for Reject / Request changes, a
new time for an approved post."""

from __future__ import annotations

import logging

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.directory import SlackDirectory
from bot.listeners.after_ack import SlackNeeded, lazy, slack_needed, soon
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
from bot.views.format import named_ids
from bot.views.messages import refusal_text, refused_form
from bot.views.modals import DRAFT, EDIT, NEW_TIME, REASON
from workflows.commands import (
    KEEP,
    Approve,
    Command,
    Reject,
    RequestChanges,
    Reschedule,
    Revise,
    Submit,
)
from workflows.outcomes import Outcome, Refusal

log = logging.getLogger(__name__)


def register(app: App, gl: Greenlight) -> None:
    """Each form is checked, and the engine decides, in the acknowledgement: a refusal shows in
    the form, under the input it is about, and nothing typed is lost (`decide`)."""

    def decide(
        ack: Ack,
        body: dict,
        client: WebClient,
        command: Command,
        typed: str,
    ) -> None:
        """Run `command` in the acknowledgement, from Redis alone, and close the form only when
        it was accepted. When the engine must ask Slack first (a user group not in the
        directory cache), the form closes and the command runs right after; a refusal then
        comes by DM, with what was typed."""
        view, user, team = body["view"], body["user"]["id"], body["team"]["id"]
        try:
            outcome = gl.engine(team, client, before_slack_call=slack_needed).execute(command)
        except SlackNeeded:
            ack()

            def later() -> None:
                outcome = gl.engine(team, client).execute(command)
                _dm_refusal(client, user, outcome, typed)

            soon(app, later, body, client)
            return
        if isinstance(outcome, Refusal):
            known = gl.directory(team, client, before_slack_call=slack_needed)
            message = named_ids(outcome.message, lambda user: _cached_name(known, user))
            ack(response_action="errors", errors={_block_for(view, outcome): message})
            return
        ack()

    def submit_draft(ack: Ack, body: dict, view: dict, client: WebClient) -> None:
        values = draft_input(view["state"]["values"])
        if errors := _draft_errors(values, gl):
            ack(response_action="errors", errors=errors)
            return
        try:
            channel = parse(DraftMetadata, view.get("private_metadata")).channel
        except BadPayload:
            channel = None
        submit = Submit(
            actor=body["user"]["id"],
            text=values.text,
            targets=values.targets,
            scheduled_at=values.scheduled_at,
            campaign=values.campaign,
            workflow=values.workflow,
            channel=channel,
            urgent=values.urgent,
        )
        decide(ack, body, client, submit, values.text)

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
        revise = Revise(
            actor=body["user"]["id"],
            post_id=ref.post_id,
            revision=ref.revision,
            text=values.text,
            targets=values.targets if values.targets is not None else KEEP,
            scheduled_at=values.scheduled_at,
            campaign=values.campaign,
            urgent=values.urgent,
        )
        decide(ack, body, client, revise, values.text)

    def give_reason(ack: Ack, body: dict, view: dict, client: WebClient) -> None:
        try:
            meta = parse(ReasonMetadata, view.get("private_metadata"))
        except BadPayload as exc:
            ack(response_action="errors", errors={"reason": str(exc)})
            return
        reason = reason_input(view["state"]["values"])
        if not reason:
            ack(response_action="errors", errors={"reason": "Please write a reason."})
            return
        user, step = body["user"]["id"], meta.step or 0
        verdict = {"approve": Approve, "reject": Reject, "request_changes": RequestChanges}
        command = verdict[meta.verdict](user, meta.post_id, meta.revision, step, reason)
        decide(ack, body, client, command, reason)

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
        """The Home tab the new time was picked in shows it. Slack failing that is only logged:
        the post did move, and the tab shows it when opened next (a DM saying something went
        wrong would make a done change look failed)."""
        if context.get(_HOME_CHANGED):
            user = body["user"]["id"]
            try:
                publish_home(gl, body["team"]["id"], user, client)
            except (SlackApiError, OSError) as exc:
                log.warning("could not refresh the Home tab of %s: %s", user, exc)

    app.view(DRAFT)(submit_draft)
    app.view(EDIT)(save_edit)
    app.view(REASON)(give_reason)
    app.view(NEW_TIME)(ack=set_new_time, lazy=[lazy(refresh_home)])


#: The form's input each refused field of a command is shown under.
_BLOCKS = {"scheduled_at": "schedule"}
#: Set when a reschedule from App Home succeeded: the Home tab is published again afterwards.
_HOME_CHANGED = "greenlight_home_changed"


def _cached_name(directory: SlackDirectory, user: str) -> str | None:
    """The person's name if the directory has it without asking Slack (in an acknowledgement)."""
    try:
        return directory.name(user)
    except SlackNeeded:
        return None


def _block_for(view: dict, refusal: Refusal) -> str:
    """The input of the form to show `refusal` under: the one it is about when the form has
    it, else the form's main one (its text, or its reason)."""
    inputs = {b.get("block_id") for b in view.get("blocks", []) if b.get("type") == "input"}
    wanted = _BLOCKS.get(refusal.field or "", refusal.field)
    return wanted if wanted in inputs else "text" if "text" in inputs else "reason"


def _draft_errors(values: DraftInput, gl: Greenlight) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not values.text.strip():
        errors["text"] = "Write the text of the post."
    if values.scheduled_at is not None and values.scheduled_at <= gl.clock():
        errors["schedule"] = "Pick a time in the future, or leave it empty to publish on approval."
    return errors


def _dm_refusal(client: WebClient, user: str, outcome: Outcome, typed: str) -> None:
    """After the form closed, a refusal can only reach the person by DM, with what they typed
    (nothing is lost)."""
    if isinstance(outcome, Refusal):
        blocks = refused_form(outcome, typed)
        client.chat_postMessage(channel=user, text=refusal_text(outcome), blocks=blocks)
