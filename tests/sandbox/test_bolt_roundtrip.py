"""A minimal Bolt app, served over WSGI, takes the sender's requests and answers through the
emulator: the payload shapes are ones Bolt understands, and the whole loop runs over HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from slack_bolt import Ack, App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

from bot.sandbox.emulator import SlackEmulator
from bot.sandbox.signing import SlackRequestSender

SECRET = "bolt-roundtrip-secret"

DRAFT_MODAL = {
    "type": "modal",
    "callback_id": "draft",
    "title": {"type": "plain_text", "text": "New draft"},
    "submit": {"type": "plain_text", "text": "Send"},
    "blocks": [
        {
            "type": "input",
            "block_id": "text",
            "label": {"type": "plain_text", "text": "Text"},
            "element": {"type": "plain_text_input", "action_id": "text"},
        }
    ],
}


def build_app(slack: SlackEmulator) -> App:
    app = App(
        client=WebClient(token=slack.bot_token, base_url=slack.api_url),
        signing_secret=SECRET,
        process_before_response=True,
    )

    @app.command("/greenlight")
    def command(ack: Ack, body: dict, client: WebClient) -> None:
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=DRAFT_MODAL)

    @app.view("draft")
    def submitted(ack: Ack, view: dict, client: WebClient) -> None:
        ack()
        text = view["state"]["values"]["text"]["text"]["value"]
        client.chat_postMessage(
            channel="C0DRAFTS",
            text=text,
            blocks=[
                {"type": "section", "text": {"type": "mrkdwn", "text": text}},
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "action_id": "approve",
                            "value": "post-1",
                            "text": {"type": "plain_text", "text": "Approve"},
                        }
                    ],
                },
            ],
        )

    @app.action("approve")
    def approve(ack: Ack, body: dict, client: WebClient) -> None:
        ack()
        container = body["container"]
        client.chat_update(
            channel=container["channel_id"],
            ts=container["message_ts"],
            text=f"{body['actions'][0]['value']} approved by <@{body['user']['id']}>",
        )

    @app.shortcut("send_for_approval")
    def shortcut(ack: Ack, shortcut: dict, client: WebClient) -> None:
        ack()
        client.chat_postEphemeral(
            channel=shortcut["channel"]["id"],
            user=shortcut["user"]["id"],
            text=f"Sent for approval: {shortcut['message']['text']}",
        )

    @app.event("message")
    def message(event: dict, client: WebClient) -> None:
        client.chat_postMessage(channel=event["channel"], thread_ts=event["ts"], text="Received")

    return app


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def bot_url(slack: SlackEmulator) -> Iterator[str]:
    server: WSGIServer = make_server(
        "127.0.0.1", 0, SlackRequestHandler(build_app(slack)), handler_class=QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/slack/events"
    server.shutdown()
    server.server_close()


@pytest.fixture
def sender(bot_url: str, slack: SlackEmulator) -> SlackRequestSender:
    return SlackRequestSender(bot_url, SECRET, emulator=slack)


def test_command_modal_card_click(sender: SlackRequestSender, slack: SlackEmulator) -> None:
    assert (
        sender.command("/greenlight", "draft", user_id="U0ANNA", channel_id="C0DRAFTS").status
        == 200
    )
    [modal] = slack.modal_stack("U0ANNA")
    values = {"text": {"text": {"type": "plain_text_input", "value": "Launch on Monday"}}}
    assert sender.submit_view("U0ANNA", modal.id, values).status == 200
    [card] = slack.messages("C0DRAFTS")
    assert card.text == "Launch on Monday"
    assert sender.click("U0LUCA", "C0DRAFTS", card.ts, "approve").status == 200
    [card] = slack.messages("C0DRAFTS")
    assert card.text == "post-1 approved by <@U0LUCA>"
    assert [e["text"] for e in card.edits] == ["Launch on Monday"]


def test_shortcut_and_event(sender: SlackRequestSender, slack: SlackEmulator) -> None:
    assert sender.user_message("U0ANNA", "C0DRAFTS", "Our new draft").status == 200
    original, reply = slack.messages("C0DRAFTS")
    assert (reply.text, reply.thread_ts) == ("Received", original.ts)
    shortcut = sender.message_shortcut("send_for_approval", "U0ANNA", "C0DRAFTS", original.to_api())
    assert shortcut.status == 200
    [ephemeral] = slack.ephemeral_messages(user="U0ANNA")
    assert ephemeral.text == "Sent for approval: Our new draft"


@pytest.mark.parametrize("signing", ["stale", "wrong", "none"])
def test_bolt_refuses_badly_signed_requests(
    sender: SlackRequestSender, slack: SlackEmulator, signing: str
) -> None:
    delivery = sender.command(
        "/greenlight", "draft", user_id="U0ANNA", channel_id="C0DRAFTS", signing=signing
    )
    assert delivery.status == 401
    assert slack.calls("views.open") == []
