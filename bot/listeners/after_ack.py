"""What runs after Slack has its answer.

The app runs with `process_before_response=True`: a listener's ack function runs in the request
thread (or Socket Mode's), and the answer leaves as soon as it returns; no hop to Bolt's listener
executor and no 10 ms polling for `ack()`, which cost more CPU than a click's engine work. So an
ack function only reads or writes Redis. Whatever calls Slack, or may be slow, is a lazy listener
(`after_ack`): Bolt starts it on its executor once the answer is sent. A failure there is logged
and explained to the person by DM, as the app's error handler does for an ack function.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from http.client import HTTPException
from typing import Any

from slack_bolt import Ack, App, BoltRequest, Respond
from slack_bolt.kwargs_injection import build_required_kwargs
from slack_bolt.response import BoltResponse
from slack_bolt.util.utils import get_arg_names_of_callable
from slack_sdk import WebClient

from bot.messaging import slack_error
from bot.payloads import BadPayload

log = logging.getLogger(__name__)


def ack_only(ack: Ack) -> None:
    ack()


def after_ack(listener: Callable[..., None]) -> dict[str, Any]:
    """Registration arguments that ack at once and run `listener` after the answer is sent:
    `app.action(APPROVE)(**after_ack(approve))`. (`listener` may keep its `ack()` call: in a
    lazy listener it changes nothing.)"""
    return {"ack": ack_only, "lazy": [lazy(listener)]}


def lazy(listener: Callable[..., None]) -> Callable[[BoltRequest], None]:
    """`listener` as a lazy listener whose failures are explained (Bolt's would only be logged)."""
    names = get_arg_names_of_callable(listener)

    def run(request: BoltRequest) -> None:
        kwargs = build_required_kwargs(
            logger=log, required_arg_names=names, request=request, response=None
        )
        explained(lambda: listener(**kwargs), request.body, request.context.client)

    run.__name__ = run.__qualname__ = listener.__name__
    return run


class SlackNeeded(Exception):
    """In the acknowledgement, work is about to call Slack (a cold directory cache): it runs
    again after the acknowledgement instead. Raised before anything is written."""


def slack_needed() -> None:
    """`before_slack_call` for work done in the acknowledgement."""
    raise SlackNeeded


def reply_to(respond: Respond, client: WebClient, body: dict) -> Callable[..., None]:
    """How to answer the person behind `body` after the acknowledgement: `say(text, blocks,
    public)` replies through its `response_url` (to them alone unless `public`); by DM when
    there is none (App Home) or Slack did not take the reply (expired, down, busy: Bolt's
    `respond` neither raises nor retries then), so the answer is not lost."""
    user = _clicker(body)

    def say(text: str, blocks: list | None = None, public: bool = False) -> None:
        if respond.response_url:
            response_type = "in_channel" if public else "ephemeral"
            try:
                answer = respond(
                    text=text, blocks=blocks, response_type=response_type, replace_original=False
                )
                if answer.status_code == 200:
                    return
                why = f"{answer.status_code} {answer.body}"
            except (OSError, HTTPException, ValueError) as exc:  # unreachable, or garbled
                why = repr(exc)
            log.warning("the response_url did not take the reply to %s (%s): a DM", user, why)
            if public:  # they must not believe the channel saw it
                text = f"(Slack did not post this in the channel; only you see it.)\n{text}"
        if user:
            client.chat_postMessage(channel=user, text=text, blocks=blocks)

    return say


def soon(app: App, work: Callable[[], None], body: dict, client: WebClient) -> None:
    """Run `work` (Slack calls) on the app's listener executor, from an ack function that needs
    Slack only now and then: a lazy listener would cost its request copy and thread hop on
    every request."""
    app.listener_runner.listener_executor.submit(explained, work, body, client)


def explained(work: Callable[[], None], body: dict, client: WebClient) -> None:
    """Run `work` after the acknowledgement; a failure is logged and explained by DM."""
    try:
        work()
    except Exception as exc:
        log.exception("listener failed after the acknowledgement", exc_info=exc)
        tell_about_failure(exc, body, client)


def failure_handler(executor: Executor) -> Callable[..., BoltResponse]:
    """The app's error handler, for ack functions: Slack gets an empty 200 (as when the ack came
    first), and the DM explaining the failure goes out afterwards, on `executor`. A request
    Slack would never send (`BadPayload`) gets a 400 instead."""

    def explain_failure(error: Exception, body: dict, client: WebClient) -> BoltResponse:
        if isinstance(error, BadPayload):  # not something Slack sends: say so, nobody to DM
            log.warning("malformed request: %s", error)
            return BoltResponse(status=400, body=json.dumps({"error": str(error)}))
        log.exception("listener failed", exc_info=error)
        executor.submit(tell_about_failure, error, body, client)
        return BoltResponse(status=200, body="")

    return explain_failure


def tell_about_failure(error: Exception, body: dict, client: WebClient) -> None:
    """DM the person whose request failed after its acknowledgement (Slack will not send it
    again): who clicked or typed, or who posted, edited or deleted an intake message."""
    kind = slack_error(error)  # Slack's error when Slack refused, else the exception's kind
    event = body.get("event") or {}
    if event.get("type") == "message":
        message = event.get("message") or event.get("previous_message") or event
        user = message.get("user")
        text = (
            f":warning: Greenlight could not handle your message in <#{event.get('channel')}> "
            f"({kind}). If it was a draft, a change or a deletion of one, check "
            "`/greenlight mine`, then post it again or use `/greenlight draft`."
        )
    else:
        user = _clicker(body)
        text = (
            f":warning: Greenlight could not finish what you asked ({kind}). Check "
            "`/greenlight status` before trying again; nothing is half-done."
        )
    if not user:
        return
    try:
        client.chat_postMessage(channel=user, text=text)
    except Exception:
        log.exception("could not tell %s about the failure", user)


def _clicker(body: dict) -> str | None:
    """Who clicked, submitted or ran the command: interactivity has `user.id`, a slash command
    `user_id`."""
    return (body.get("user") or {}).get("id") or body.get("user_id")
