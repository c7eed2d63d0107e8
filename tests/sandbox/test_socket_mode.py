"""Socket Mode in the emulator, driven by slack_sdk's own built-in Socket Mode client (the one
Bolt's `SocketModeHandler` uses): app-level tokens, `hello`, envelopes, acknowledgements,
one-time URLs and reconnection on `disconnect`."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from bot.sandbox.emulator import SlackEmulator
from bot.sandbox.socket_mode import SocketModeSender


@dataclass
class App:
    """A Socket Mode app: answers slash commands with a text, acks the rest empty."""

    client: SocketModeClient
    frames: list[dict] = field(default_factory=list)
    requests: list[SocketModeRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_request(self, client: SocketModeClient, request: SocketModeRequest) -> None:
        with self.lock:
            self.requests.append(request)
        payload = None
        if request.type == "slash_commands":
            payload = {"text": "echo " + request.payload["text"]}
        client.send_socket_mode_response(SocketModeResponse(request.envelope_id, payload))

    def on_frame(self, text: str) -> None:
        with self.lock:
            self.frames.append(json.loads(text))


@pytest.fixture
def app(slack: SlackEmulator) -> Iterator[App]:
    client = SocketModeClient(
        app_token=slack.app_token, web_client=WebClient(base_url=slack.api_url)
    )
    app = App(client)
    client.socket_mode_request_listeners.append(app.on_request)
    client.on_message_listeners.append(app.on_frame)
    client.connect()
    assert slack.socket_mode.wait_for_connections(timeout=10)
    yield app
    client.close()


def test_apps_connections_open_takes_only_the_app_level_token(slack: SlackEmulator) -> None:
    web = WebClient(base_url=slack.api_url)
    url = web.apps_connections_open(app_token=slack.app_token)["url"]
    assert url.startswith("ws://127.0.0.1:") and "/link/?ticket=" in url
    for token, error in (
        ("xapp-1-A0OTHER-revoked", "invalid_auth"),
        ("xoxb-acme", "not_allowed_token_type"),  # a bot token cannot open connections
    ):
        with pytest.raises(SlackApiError) as refused:
            web.apps_connections_open(app_token=token)
        assert refused.value.response["error"] == error
    with pytest.raises(SlackApiError) as refused:
        web.api_call("apps.connections.open")
    assert refused.value.response["error"] == "not_authed"
    # and the app-level token is good for nothing else
    with pytest.raises(SlackApiError) as refused:
        WebClient(token=slack.app_token, base_url=slack.api_url).chat_postMessage(
            channel="C0DRAFTS", text="hi"
        )
    assert refused.value.response["error"] == "not_allowed_token_type"


def test_a_websocket_url_is_good_for_one_connection(slack: SlackEmulator) -> None:
    url = WebClient(base_url=slack.api_url).apps_connections_open(app_token=slack.app_token)["url"]
    with connect(url) as websocket:
        hello = json.loads(websocket.recv(timeout=5))
        assert hello["type"] == "hello" and hello["num_connections"] == 1
    for refused_url in (url, url.replace("ticket=", "ticket=forged")):
        with pytest.raises(InvalidStatus) as refused:
            connect(refused_url).close()
        assert refused.value.response.status_code == 401


def test_envelopes_reach_the_sdk_client_and_acks_are_recorded(
    slack: SlackEmulator, app: App
) -> None:
    sender = SocketModeSender(slack)
    command = sender.command("/greenlight", "help", user_id="U0ANNA", channel_id="C0DRAFTS")
    assert command.ack().payload == {"text": "echo help"}
    message = sender.user_message("U0ANNA", "C0DRAFTS", "A draft")
    assert message.ack().payload is None
    view = {"id": "V1", "type": "modal", "callback_id": "draft", "blocks": []}
    submission = sender.view_submission("U0ANNA", view)
    submission.ack()
    click = sender.block_actions("U0ANNA", [{"action_id": "gl_approve", "value": "1"}], view=view)
    click.ack()

    hello, *envelopes = app.frames
    assert hello["type"] == "hello" and hello["connection_info"]["app_id"] == "A0GREENLIGHT"
    shapes = {
        e["envelope_id"]: (e["type"], e["accepts_response_payload"], e.get("retry_attempt"))
        for e in envelopes
    }
    assert shapes == {
        command.envelope_id: ("slash_commands", True, None),
        message.envelope_id: ("events_api", False, 0),
        submission.envelope_id: ("interactive", True, None),
        click.envelope_id: ("interactive", False, None),
    }
    # the payloads are the ones the HTTP sender posts: a command's fields, an event_callback
    by_id = {r.envelope_id: r.payload for r in app.requests}
    assert by_id[command.envelope_id]["command"] == "/greenlight"
    assert by_id[command.envelope_id]["response_url"].startswith(slack.base_url + "/response/")
    assert by_id[message.envelope_id]["type"] == "event_callback"
    assert by_id[message.envelope_id]["event"]["text"] == "A draft"
    assert slack.messages("C0DRAFTS")[-1].text == "A draft"  # the message is in the channel
    assert [a.envelope_id for a in slack.socket_mode.acks()] == [
        command.envelope_id,
        message.envelope_id,
        submission.envelope_id,
        click.envelope_id,
    ]


def test_a_disconnect_makes_the_client_reconnect_with_a_new_url(
    slack: SlackEmulator, app: App
) -> None:
    slack.socket_mode.disconnect("refresh_requested")
    assert slack.socket_mode.wait_for_connections(opened=2, timeout=15)
    assert len(slack.calls("apps.connections.open")) == 2
    # the old socket goes away; envelopes still arrive over the new one
    assert slack.socket_mode.wait_for_connections(1, timeout=15)
    sender = SocketModeSender(slack)
    command = sender.command("/greenlight", "queue", user_id="U0ANNA", channel_id="C0DRAFTS")
    assert command.ack().payload == {"text": "echo queue"}


def test_pushing_with_no_app_connected_says_so(slack: SlackEmulator) -> None:
    with pytest.raises(RuntimeError, match="no app is connected"):
        SocketModeSender(slack).command("/greenlight", user_id="U0ANNA", channel_id="C0DRAFTS")
