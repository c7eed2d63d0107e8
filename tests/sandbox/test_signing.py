"""The sender's requests pass slack_sdk's SignatureVerifier on a real HTTP endpoint, carry
Slack's payload shapes, and broken signatures are refused."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from bot.sandbox.emulator import SlackEmulator
from bot.sandbox.signing import SlackRequestSender

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}

    def payload(self) -> dict:
        return json.loads(self.form()["payload"])


@dataclass
class Receiver:
    """A stand-in for the bot's /slack/events: 200 when the signature holds, else 401."""

    url: str
    requests: list[Received] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    verifier = SignatureVerifier(SECRET)
    requests: list[Received] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            headers = dict(self.headers.items())
            requests.append(Received(headers, body))
            status = 200 if verifier.is_valid_request(body, headers) else 401
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield Receiver(f"http://127.0.0.1:{server.server_address[1]}/slack/events", requests)
    server.shutdown()
    server.server_close()


@pytest.fixture
def sender(receiver: Receiver, slack: SlackEmulator) -> SlackRequestSender:
    return SlackRequestSender(receiver.url, SECRET, emulator=slack)


def test_signature_is_slacks_formula(sender: SlackRequestSender, receiver: Receiver) -> None:
    assert sender.event({"type": "app_home_opened", "user": "U0ANNA"}).status == 200
    [request] = receiver.requests
    timestamp = request.headers["X-Slack-Request-Timestamp"]
    base = b"v0:" + timestamp.encode() + b":" + request.body
    expected = "v0=" + hmac.new(SECRET.encode(), base, hashlib.sha256).hexdigest()
    assert request.headers["X-Slack-Signature"] == expected


@pytest.mark.parametrize("signing", ["stale", "wrong", "none"])
def test_broken_signatures_are_refused(
    sender: SlackRequestSender, receiver: Receiver, signing: str
) -> None:
    assert sender.event({"type": "app_home_opened"}, signing=signing).status == 401
    assert (
        sender.command(
            "/greenlight", "help", user_id="U0ANNA", channel_id="C0DRAFTS", signing=signing
        ).status
        == 401
    )
    request = receiver.requests[0]
    assert ("X-Slack-Signature" in request.headers) is (signing != "none")


def test_event_envelope_and_retry_headers(sender: SlackRequestSender, receiver: Receiver) -> None:
    first = sender.event({"type": "app_home_opened", "user": "U0ANNA"})
    again = sender.event(
        first.sent["event"], event_id=first.sent["event_id"], retry_num=1, retry_reason="timeout"
    )
    assert again.status == 200
    original, retry = (json.loads(r.body) for r in receiver.requests)
    assert original["type"] == "event_callback"
    assert original["team_id"] == "T0ACME"
    assert original["event_id"] == retry["event_id"]
    assert isinstance(original["event_time"], int)
    assert original["authorizations"][0]["user_id"] == "U0GREENLIGHT"
    assert receiver.requests[1].headers["X-Slack-Retry-Num"] == "1"
    assert receiver.requests[1].headers["X-Slack-Retry-Reason"] == "timeout"
    assert "X-Slack-Retry-Num" not in receiver.requests[0].headers


def test_user_message_is_in_the_emulator_and_the_event(
    sender: SlackRequestSender, receiver: Receiver, slack: SlackEmulator
) -> None:
    sender.user_message("U0ANNA", "C0DRAFTS", "Launch day is Monday!")
    event = json.loads(receiver.requests[0].body)["event"]
    [stored] = slack.messages("C0DRAFTS")
    assert (event["type"], event["user"], event["text"]) == (
        "message",
        "U0ANNA",
        "Launch day is Monday!",
    )
    assert event["ts"] == stored.ts


def test_command_trigger_opens_a_modal_and_response_url_is_served(
    sender: SlackRequestSender, receiver: Receiver, slack: SlackEmulator, web: WebClient
) -> None:
    assert (
        sender.command("/greenlight", "draft", user_id="U0ANNA", channel_id="C0DRAFTS").status
        == 200
    )
    form = receiver.requests[0].form()
    assert {k: form[k] for k in ("command", "text", "user_id", "team_id", "channel_id")} == {
        "command": "/greenlight",
        "text": "draft",
        "user_id": "U0ANNA",
        "team_id": "T0ACME",
        "channel_id": "C0DRAFTS",
    }
    assert receiver.requests[0].headers["Content-Type"] == "application/x-www-form-urlencoded"
    view = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "New draft"},
        "blocks": [{"type": "divider"}],
    }
    assert web.views_open(trigger_id=form["trigger_id"], view=view)["ok"]
    assert [v.user_id for v in slack.modal_stack("U0ANNA")] == ["U0ANNA"]
    assert form["response_url"].startswith(slack.base_url)


def test_click_sends_the_buttons_action_and_message(
    sender: SlackRequestSender, receiver: Receiver, slack: SlackEmulator, web: WebClient
) -> None:
    card = web.chat_postMessage(
        channel="C0DRAFTS",
        text="Draft #7",
        blocks=[
            {"type": "section", "text": {"type": "mrkdwn", "text": "Draft #7"}},
            {
                "type": "actions",
                "block_id": "decide",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "approve",
                        "value": "post=7;rev=1",
                        "text": {"type": "plain_text", "text": "Approve"},
                    },
                ],
            },
        ],
    )
    assert sender.click("U0LUCA", "C0DRAFTS", card["ts"], "approve").status == 200
    payload = receiver.requests[0].payload()
    assert payload["type"] == "block_actions"
    assert payload["user"]["id"] == "U0LUCA"
    assert payload["team"]["id"] == "T0ACME"
    assert payload["actions"][0] | {"action_ts": None} == {
        "action_id": "approve",
        "block_id": "decide",
        "type": "button",
        "value": "post=7;rev=1",
        "text": {"type": "plain_text", "text": "Approve"},
        "action_ts": None,
    }
    assert payload["container"] == {
        "type": "message",
        "message_ts": card["ts"],
        "channel_id": "C0DRAFTS",
        "is_ephemeral": False,
    }
    assert payload["message"]["text"] == "Draft #7"
    assert web.views_open(
        trigger_id=payload["trigger_id"],
        view={
            "type": "modal",
            "title": {"type": "plain_text", "text": "Reason"},
            "blocks": [{"type": "divider"}],
        },
    )["ok"]


def test_view_submission_of_an_open_modal(
    sender: SlackRequestSender, receiver: Receiver, slack: SlackEmulator, web: WebClient
) -> None:
    view = {
        "type": "modal",
        "callback_id": "draft",
        "private_metadata": "post=7",
        "title": {"type": "plain_text", "text": "New draft"},
        "blocks": [
            {
                "type": "input",
                "block_id": "text",
                "label": {"type": "plain_text", "text": "Text"},
                "element": {"type": "plain_text_input", "action_id": "text"},
            }
        ],
    }
    opened = web.views_open(trigger_id=slack.mint_trigger_id("U0ANNA"), view=view)["view"]
    values = {"text": {"text": {"type": "plain_text_input", "value": "Hello"}}}
    assert sender.submit_view("U0ANNA", opened["id"], values).status == 200
    payload = receiver.requests[0].payload()
    assert payload["type"] == "view_submission"
    assert (payload["view"]["id"], payload["view"]["callback_id"]) == (opened["id"], "draft")
    assert payload["view"]["private_metadata"] == "post=7"
    assert payload["view"]["state"]["values"] == values


FORM = {
    "type": "modal",
    "callback_id": "edit",
    "title": {"type": "plain_text", "text": "Edit draft"},
    "blocks": [
        {
            "type": "input",
            "block_id": "text",
            "label": {"type": "plain_text", "text": "Text"},
            "element": {"type": "plain_text_input", "action_id": "text", "initial_value": "Hi"},
        },
        {
            "type": "input",
            "block_id": "schedule",
            "optional": True,
            "label": {"type": "plain_text", "text": "When"},
            "element": {"type": "datetimepicker", "action_id": "schedule"},
        },
        {
            "type": "input",
            "block_id": "reason",
            "label": {"type": "plain_text", "text": "Why"},
            "element": {"type": "plain_text_input", "action_id": "reason"},
        },
    ],
}


def test_a_submitted_modal_carries_every_input_as_the_person_left_it(
    sender: SlackRequestSender, receiver: Receiver, slack: SlackEmulator, web: WebClient
) -> None:
    """As Slack does: inputs nobody touched are submitted with what the modal set (the prefilled
    text, an empty optional picker), next to what the person typed."""
    opened = web.views_open(trigger_id=slack.mint_trigger_id("U0ANNA"), view=FORM)["view"]
    assert sender.submit_view("U0ANNA", opened["id"], {"reason": {"reason": {"value": "typo"}}})
    assert receiver.requests[-1].payload()["view"]["state"]["values"] == {
        "text": {"text": {"type": "plain_text_input", "value": "Hi"}},
        "schedule": {"schedule": {"type": "datetimepicker", "selected_date_time": None}},
        "reason": {"reason": {"type": "plain_text_input", "value": "typo"}},
    }


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"reason": {"reason": {"value": ""}}}, "required inputs are empty: ['reason']"),
        ({}, "required inputs are empty: ['reason']"),
        ({"text": {"text": {"value": ""}}, "reason": {"reason": {"value": "x"}}}, "['text']"),
        ({"title": {"title": {"value": "x"}}}, "no input block 'title'"),
        ({"reason": {"why": {"value": "x"}}}, "holds a plain_text_input 'reason', not"),
        ({"schedule": {"schedule": {"type": "datepicker"}}}, "holds a datetimepicker"),
        ({"schedule": {"schedule": {"value": 1}}}, "state is its `selected_date_time`"),
    ],
)
def test_slack_would_not_submit_such_a_modal(
    sender: SlackRequestSender,
    receiver: Receiver,
    slack: SlackEmulator,
    web: WebClient,
    values: dict,
    problem: str,
) -> None:
    """A test cannot send what no person could: an empty required input, or a value for an
    input the modal does not have. Nothing reaches the bot."""
    opened = web.views_open(trigger_id=slack.mint_trigger_id("U0ANNA"), view=FORM)["view"]
    with pytest.raises(ValueError, match=re.escape(problem)):
        sender.submit_view("U0ANNA", opened["id"], values)
    assert receiver.requests == []


def test_message_shortcut(sender: SlackRequestSender, receiver: Receiver) -> None:
    message = {"type": "message", "user": "U0ANNA", "ts": "1790000000.000100", "text": "Hi"}
    delivery = sender.message_shortcut("send_for_approval", "U0ANNA", "C0DRAFTS", message)
    assert delivery.status == 200
    payload = receiver.requests[0].payload()
    assert (payload["type"], payload["callback_id"]) == ("message_action", "send_for_approval")
    assert payload["message"] == message
    assert payload["channel"]["id"] == "C0DRAFTS"
    assert payload["trigger_id"]


def test_without_an_emulator(receiver: Receiver) -> None:
    sender = SlackRequestSender(receiver.url, SECRET, team_id="T0SOLO")
    delivery = sender.command("/greenlight", "help", user_id="U1", channel_id="C1")
    assert delivery.status == 200
    assert receiver.requests[0].form()["team_id"] == "T0SOLO"
