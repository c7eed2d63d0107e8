"""The payloads Slack sends an app when people act: events, slash commands, interactions.

One builder for both ways Slack delivers them, so a test sees the same payload over either:
`signing.SlackRequestSender` posts them signed to an HTTP endpoint (an event as JSON, a command
as a form, an interaction as a form field `payload` of JSON), and `socket_mode.SocketModeSender`
wraps them in Socket Mode envelopes (where each is a JSON object as built here).

Given a `SlackEmulator`, the builder mints trigger ids and response URLs the emulator accepts,
puts people's messages into it, and fills interaction payloads from what it holds (the clicked
message, the open view).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bot.sandbox.methods import APP_ID

if TYPE_CHECKING:
    from bot.sandbox.emulator import SlackEmulator


_URL = re.compile(r"https?://[^\s<>]+")


def as_slack_sends(typed: str) -> str:
    """A message's text as Slack sends it to apps: `&`, `<` and `>` escaped, and each web
    address typed in full made a link (`<https://…>`)."""
    escaped = typed.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _URL.sub(lambda m: f"<{m.group(0)}>", escaped)


class SlackPayloads:
    """Builds what Slack sends for team `team_id` of app `api_app_id`."""

    def __init__(
        self,
        emulator: SlackEmulator | None = None,
        *,
        team_id: str | None = None,
        api_app_id: str = APP_ID,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.emulator = emulator
        self.team_id = team_id or (emulator.team.id if emulator else "T0SANDBOX")
        self.api_app_id = api_app_id
        self.clock = clock

    # -- Events API ----------------------------------------------------------------------

    def event_callback(
        self, event: dict[str, Any], *, event_id: str | None = None, event_time: int | None = None
    ) -> dict[str, Any]:
        """The `event_callback` envelope around `event`, with `event_id` and `authorizations`."""
        bot_user_id = (
            self.emulator.workspace.teams[self.team_id].bot_user_id if self.emulator else None
        )
        return {
            "token": "verification-token",
            "team_id": self.team_id,
            "api_app_id": self.api_app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or "Ev" + uuid.uuid4().hex[:10].upper(),
            "event_time": event_time or int(self.clock()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }

    def message_event(
        self, user_id: str, channel_id: str, text: str, *, thread_ts: str | None = None
    ) -> dict[str, Any]:
        """A person posts `text`: the message goes into the emulator (when there is one, so
        the bot can find it); returns its `message` event. The text is what they typed, and
        reaches the bot as Slack sends it (`as_slack_sends`)."""
        if self.emulator is not None:
            message = self.emulator.post_user_message(
                channel_id, user_id, text, thread_ts=thread_ts
            )
            text, ts = message.text, message.ts
        else:
            text, ts = as_slack_sends(text), f"{self.clock():.6f}"
        event: dict[str, Any] = {
            "type": "message",
            "channel": channel_id,
            "user": user_id,
            "text": text,
            "ts": ts,
            "event_ts": ts,
            "channel_type": "im" if channel_id.startswith("D") else "channel",
            "team": self.team_id,
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        return event

    # -- slash commands ------------------------------------------------------------------

    def command(
        self, command: str, text: str = "", *, user_id: str, channel_id: str
    ) -> dict[str, str]:
        """A slash command invocation's fields (all strings: over HTTP they are a form)."""
        return {
            "token": "verification-token",
            "team_id": self.team_id,
            "team_domain": self._team_domain(),
            "channel_id": channel_id,
            "channel_name": self._channel_name(channel_id),
            "user_id": user_id,
            "user_name": self._user_name(user_id),
            "command": command,
            "text": text,
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "false",
            "response_url": self._response_url(user_id, channel_id, None),
            "trigger_id": self._trigger_id(user_id),
        }

    # -- interactivity -------------------------------------------------------------------

    def block_actions(
        self,
        user_id: str,
        actions: list[dict[str, Any]],
        *,
        channel_id: str | None = None,
        message: dict[str, Any] | None = None,
        view: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A `block_actions` payload: buttons clicked on `message` in `channel_id`, or in
        `view` (a modal or Home tab)."""
        now = f"{self.clock():.6f}"
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._user(user_id),
            "api_app_id": self.api_app_id,
            "token": "verification-token",
            "team": {"id": self.team_id, "domain": self._team_domain()},
            "enterprise": None,
            "is_enterprise_install": False,
            "trigger_id": self._trigger_id(user_id),
            "actions": [{"action_ts": now, **action} for action in actions],
            "state": {"values": {}},
        }
        if view is not None:
            payload["container"] = {"type": "view", "view_id": view.get("id")}
            payload["view"] = view
        elif message is not None and channel_id is not None:
            payload["container"] = {
                "type": "message",
                "message_ts": message["ts"],
                "channel_id": channel_id,
                "is_ephemeral": False,
            }
            payload["channel"] = {"id": channel_id, "name": self._channel_name(channel_id)}
            payload["message"] = message
            payload["response_url"] = self._response_url(user_id, channel_id, message["ts"])
        return payload

    def click(
        self, user_id: str, channel_id: str, message_ts: str, action_id: str
    ) -> dict[str, Any]:
        """`user_id` clicks the button `action_id` on a message the emulator holds."""
        emulator = self._require_emulator()
        message = emulator.message(channel_id, message_ts)
        if message is None:
            raise LookupError(f"no message {message_ts} in {channel_id}")
        action = find_action(message.blocks or [], action_id)
        return self.block_actions(
            user_id, [action], channel_id=channel_id, message=message.to_api()
        )

    def view_submission(
        self,
        user_id: str,
        view: dict[str, Any],
        values: dict[str, dict[str, dict[str, Any]]] | None = None,
    ) -> dict[str, Any]:
        """A `view_submission`: `values` maps block_id → action_id → the element's state,
        e.g. `{"text": {"text": {"type": "plain_text_input", "value": "Hello"}}}`."""
        return {
            "type": "view_submission",
            "team": {"id": self.team_id, "domain": self._team_domain()},
            "user": self._user(user_id),
            "api_app_id": self.api_app_id,
            "token": "verification-token",
            "trigger_id": self._trigger_id(user_id),
            "view": {**view, "state": {"values": values or {}}},
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }

    def submit_view(
        self,
        user_id: str,
        view_id: str,
        values: dict[str, dict[str, dict[str, Any]]] | None = None,
    ) -> dict[str, Any]:
        """Submit a modal the bot opened in the emulator, as the user who has it open."""
        emulator = self._require_emulator()
        view = emulator.view(view_id)
        if view is None:
            raise LookupError(f"no view {view_id}")
        api_view = view.to_api(self.api_app_id, emulator.workspace.teams[view.team_id].bot_id)
        return self.view_submission(user_id, api_view, submitted_state(api_view, values or {}))

    def message_shortcut(
        self, callback_id: str, user_id: str, channel_id: str, message: dict[str, Any]
    ) -> dict[str, Any]:
        """A message shortcut (`message_action`) run on `message` in `channel_id`."""
        return {
            "type": "message_action",
            "callback_id": callback_id,
            "token": "verification-token",
            "action_ts": f"{self.clock():.6f}",
            "team": {"id": self.team_id, "domain": self._team_domain()},
            "user": self._user(user_id),
            "channel": {"id": channel_id, "name": self._channel_name(channel_id)},
            "is_enterprise_install": False,
            "enterprise": None,
            "message_ts": message["ts"],
            "message": message,
            "response_url": self._response_url(user_id, channel_id, None),
            "trigger_id": self._trigger_id(user_id),
        }

    # -- details filled from the emulator when there is one ------------------------------

    def _require_emulator(self) -> SlackEmulator:
        if self.emulator is None:
            raise RuntimeError("this needs the sender to be given the emulator")
        return self.emulator

    def _trigger_id(self, user_id: str) -> str:
        if self.emulator is not None:
            return self.emulator.mint_trigger_id(user_id, self.team_id)
        return f"{int(self.clock())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex}"

    def _response_url(self, user_id: str, channel_id: str, message_ts: str | None) -> str:
        if self.emulator is not None:
            return self.emulator.new_response_url(
                team_id=self.team_id, user_id=user_id, channel_id=channel_id, message_ts=message_ts
            )
        return f"https://hooks.slack.com/actions/{self.team_id}/0/{uuid.uuid4().hex}"

    def _user_name(self, user_id: str) -> str:
        user = self.emulator.workspace.users.get(user_id) if self.emulator else None
        return user.name if user else user_id.lower()

    def _user(self, user_id: str) -> dict[str, str]:
        name = self._user_name(user_id)
        return {"id": user_id, "username": name, "name": name, "team_id": self.team_id}

    def _channel_name(self, channel_id: str) -> str:
        channel = self.emulator.workspace.channels.get(channel_id) if self.emulator else None
        return channel.name if channel else channel_id.lower()

    def _team_domain(self) -> str:
        team = self.emulator.workspace.teams.get(self.team_id) if self.emulator else None
        return team.domain if team else "sandbox"


def find_action(blocks: list[dict[str, Any]], action_id: str) -> dict[str, Any]:
    """The `actions[]` entry Slack sends for a click on the element `action_id`."""
    for block in blocks:
        elements = list(block.get("elements") or [])
        if block.get("accessory"):
            elements.append(block["accessory"])
        for element in elements:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                action = {
                    "action_id": action_id,
                    "block_id": block.get("block_id", ""),
                    "type": element.get("type"),
                }
                if "text" in element:
                    action["text"] = element["text"]
                if "value" in element:
                    action["value"] = element["value"]
                return action
    raise LookupError(f"no element with action_id {action_id!r} in the message")


#: Per input element type: the state field Slack submits, and the element field it starts from.
_STATE_FIELDS: dict[str, tuple[str, str]] = {
    "plain_text_input": ("value", "initial_value"),
    "datepicker": ("selected_date", "initial_date"),
    "timepicker": ("selected_time", "initial_time"),
    "datetimepicker": ("selected_date_time", "initial_date_time"),
    "static_select": ("selected_option", "initial_option"),
    "radio_buttons": ("selected_option", "initial_option"),
    "users_select": ("selected_user", "initial_user"),
    "conversations_select": ("selected_conversation", "initial_conversation"),
    "channels_select": ("selected_channel", "initial_channel"),
    "checkboxes": ("selected_options", "initial_options"),
    "multi_static_select": ("selected_options", "initial_options"),
    "multi_users_select": ("selected_users", "initial_users"),
}
_EMPTY: dict[str, Any] = {"selected_options": [], "selected_users": []}
#: Element fields Slack repeats in the state (a time picker set to a time zone says which).
_ALSO: dict[str, tuple[str, ...]] = {"timepicker": ("timezone",)}


def submitted_state(
    view: dict[str, Any], changes: dict[str, dict[str, dict[str, Any]]]
) -> dict[str, dict[str, dict[str, Any]]]:
    """The `state.values` Slack submits for `view` after a person made `changes` (block_id →
    action_id → element state, `type` optional): every input block, as the modal set it unless
    changed.
    Raises ValueError where Slack's client would not submit: a change to an input the modal
    does not have (or to another element type), or a required input left empty."""
    blocks = {
        block["block_id"]: block
        for block in view.get("blocks", [])
        if block.get("type") == "input" and "block_id" in block
    }
    values: dict[str, dict[str, dict[str, Any]]] = {}
    for block_id, block in blocks.items():
        element = block["element"]
        if element["type"] not in _STATE_FIELDS:
            raise ValueError(f"the emulator does not know the state of a {element['type']}")
        field, initial = _STATE_FIELDS[element["type"]]
        state = {"type": element["type"], field: element.get(initial, _EMPTY.get(field))}
        state |= {k: element[k] for k in _ALSO.get(element["type"], ()) if k in element}
        values[block_id] = {element["action_id"]: state}
    for block_id, actions in changes.items():
        if block_id not in blocks:
            raise ValueError(f"the modal has no input block {block_id!r} (it has {sorted(blocks)})")
        element = blocks[block_id]["element"]
        for action_id, state in actions.items():
            kind = state.get("type", element["type"])
            if action_id != element["action_id"] or kind != element["type"]:
                raise ValueError(
                    f"input block {block_id!r} holds a {element['type']} "
                    f"{element['action_id']!r}, not a {kind} {action_id!r}"
                )
            field = _STATE_FIELDS[kind][0]
            if set(state) - {"type", field, *_ALSO.get(kind, ())}:
                raise ValueError(f"a {kind}'s state is its `{field}`, not {sorted(state)}")
            values[block_id] = {action_id: {**state, "type": kind}}
    empty = [
        block_id
        for block_id, block in blocks.items()
        if not block.get("optional")
        and all(not _filled(state) for state in values[block_id].values())
    ]
    if empty:
        raise ValueError(f"Slack does not submit a modal whose required inputs are empty: {empty}")
    return values


def _filled(state: dict[str, Any]) -> bool:
    return any(v not in (None, "", []) for k, v in state.items() if k != "type")
