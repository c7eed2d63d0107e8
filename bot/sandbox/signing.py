"""Send Slack's requests to a bot's endpoint over HTTP, signed as Slack signs them.

Events, slash commands, block actions, view submissions and message shortcuts, each in the
shape and encoding Slack uses, with `X-Slack-Signature` = `v0=` + HMAC-SHA256 of
`v0:{timestamp}:{body}` (slack_sdk's `SignatureVerifier.generate_signature`). A request can
also go out stale, wrongly signed or unsigned, to check the bot refuses it.

The payloads themselves come from `payloads.SlackPayloads`, which the Socket Mode sender shares:
given a `SlackEmulator`, trigger ids and response URLs are ones it accepts, and interaction
payloads are filled from what it holds (the clicked message, the open view).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from bot.sandbox.emulator import SlackEmulator
from bot.sandbox.methods import APP_ID
from bot.sandbox.payloads import SlackPayloads
from bot.sandbox.payloads import find_action as _find_action  # noqa: F401 (bench/ack.py)

Signing = Literal["valid", "stale", "wrong", "none"]

# Slack refuses requests more than five minutes old; this is comfortably past that.
STALE_BY = 10 * 60


@dataclass(frozen=True)
class Delivery:
    """What was sent and what the bot answered."""

    status: int
    headers: dict[str, str]
    body: bytes
    sent: dict[str, Any]

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)


class SlackRequestSender:
    """Posts signed Slack requests to `url` (the bot's `/slack/events`)."""

    def __init__(
        self,
        url: str,
        signing_secret: str,
        *,
        emulator: SlackEmulator | None = None,
        team_id: str | None = None,
        api_app_id: str = APP_ID,
        clock: Callable[[], float] = time.time,
        timeout: float = 10.0,
    ) -> None:
        self.url = url
        self.verifier = SignatureVerifier(signing_secret)
        self.payloads = SlackPayloads(emulator, team_id=team_id, api_app_id=api_app_id, clock=clock)
        self.emulator = emulator
        self.team_id = self.payloads.team_id
        self.clock = clock
        self.timeout = timeout
        # Never send local traffic through an HTTP proxy from the environment.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    # -- the raw request -----------------------------------------------------------------

    def send(
        self,
        body: bytes,
        content_type: str,
        *,
        signing: Signing = "valid",
        headers: dict[str, str] | None = None,
        sent: dict[str, Any] | None = None,
    ) -> Delivery:
        """POST `body` with Slack's signature headers (or broken ones, per `signing`)."""
        request_headers = {"Content-Type": content_type, **(headers or {})}
        request_headers.update(self.signature_headers(body, signing))
        request = urllib.request.Request(self.url, body, request_headers, method="POST")
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return Delivery(
                    response.status, dict(response.headers.items()), response.read(), sent or {}
                )
        except urllib.error.HTTPError as error:
            return Delivery(error.code, dict(error.headers.items()), error.read(), sent or {})

    def signature_headers(self, body: bytes, signing: Signing = "valid") -> dict[str, str]:
        if signing == "none":
            return {}
        now = int(self.clock())
        timestamp = str(now - STALE_BY if signing == "stale" else now)
        verifier = self.verifier
        if signing == "wrong":
            verifier = SignatureVerifier(verifier.signing_secret + "-wrong")
        signature = verifier.generate_signature(timestamp=timestamp, body=body)
        return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": str(signature)}

    # -- Events API ----------------------------------------------------------------------

    def event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        event_time: int | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        signing: Signing = "valid",
    ) -> Delivery:
        """An `event_callback` envelope around `event`. Pass the same `event_id` with
        `retry_num` to send what Slack sends when it retries a delivery."""
        envelope = self.payloads.event_callback(event, event_id=event_id, event_time=event_time)
        headers = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        body = json.dumps(envelope).encode()
        return self.send(body, "application/json", signing=signing, headers=headers, sent=envelope)

    def user_message(
        self,
        user_id: str,
        channel_id: str,
        text: str,
        *,
        thread_ts: str | None = None,
        signing: Signing = "valid",
    ) -> Delivery:
        """A person posts `text`: the message goes into the emulator (when there is one,
        so the bot can find it) and its `message` event to the bot."""
        event = self.payloads.message_event(user_id, channel_id, text, thread_ts=thread_ts)
        return self.event(event, signing=signing)

    # -- slash commands ------------------------------------------------------------------

    def command(
        self,
        command: str,
        text: str = "",
        *,
        user_id: str,
        channel_id: str,
        signing: Signing = "valid",
    ) -> Delivery:
        """A slash command invocation, form-encoded like Slack's."""
        fields = self.payloads.command(command, text, user_id=user_id, channel_id=channel_id)
        body = urlencode(fields).encode()
        return self.send(body, "application/x-www-form-urlencoded", signing=signing, sent=fields)

    # -- interactivity -------------------------------------------------------------------

    def interaction(self, payload: dict[str, Any], *, signing: Signing = "valid") -> Delivery:
        """Any interactivity payload, sent as Slack does: a form field `payload` of JSON."""
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return self.send(body, "application/x-www-form-urlencoded", signing=signing, sent=payload)

    def block_actions(
        self,
        user_id: str,
        actions: list[dict[str, Any]],
        *,
        channel_id: str | None = None,
        message: dict[str, Any] | None = None,
        view: dict[str, Any] | None = None,
        signing: Signing = "valid",
    ) -> Delivery:
        """A `block_actions` payload: buttons clicked on `message` in `channel_id`, or in
        `view` (a modal or Home tab)."""
        payload = self.payloads.block_actions(
            user_id, actions, channel_id=channel_id, message=message, view=view
        )
        return self.interaction(payload, signing=signing)

    def click(
        self,
        user_id: str,
        channel_id: str,
        message_ts: str,
        action_id: str,
        *,
        signing: Signing = "valid",
    ) -> Delivery:
        """`user_id` clicks the button `action_id` on a message the emulator holds."""
        payload = self.payloads.click(user_id, channel_id, message_ts, action_id)
        return self.interaction(payload, signing=signing)

    def view_submission(
        self,
        user_id: str,
        view: dict[str, Any],
        values: dict[str, dict[str, dict[str, Any]]] | None = None,
        *,
        signing: Signing = "valid",
    ) -> Delivery:
        """A `view_submission`: `values` maps block_id → action_id → the element's state,
        e.g. `{"text": {"text": {"type": "plain_text_input", "value": "Hello"}}}`."""
        payload = self.payloads.view_submission(user_id, view, values)
        return self.interaction(payload, signing=signing)

    def submit_view(
        self,
        user_id: str,
        view_id: str,
        values: dict[str, dict[str, dict[str, Any]]] | None = None,
        *,
        signing: Signing = "valid",
    ) -> Delivery:
        """Submit a modal the bot opened in the emulator, as the user who has it open."""
        payload = self.payloads.submit_view(user_id, view_id, values)
        return self.interaction(payload, signing=signing)

    def message_shortcut(
        self,
        callback_id: str,
        user_id: str,
        channel_id: str,
        message: dict[str, Any],
        *,
        signing: Signing = "valid",
    ) -> Delivery:
        """A message shortcut (`message_action`) run on `message` in `channel_id`."""
        payload = self.payloads.message_shortcut(callback_id, user_id, channel_id, message)
        return self.interaction(payload, signing=signing)
