"""Tokens, encodings and answers the way Slack gives them."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.sandbox.emulator import SlackEmulator


def raw_post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict]:
    request = urllib.request.Request(url, body, headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_auth_test_names_the_bot_and_team(web: WebClient) -> None:
    answer = web.auth_test()
    assert answer["team_id"] == "T0ACME"
    assert answer["user_id"] == "U0GREENLIGHT"
    assert answer["bot_id"] == "B0GREENLIGHT"
    assert answer["url"] == "https://acme.slack.com/"


def test_missing_token_is_not_authed(slack: SlackEmulator) -> None:
    with pytest.raises(SlackApiError) as caught:
        WebClient(base_url=slack.api_url).auth_test()
    assert caught.value.response.status_code == 200
    assert caught.value.response["error"] == "not_authed"


def test_unknown_token_is_invalid_auth(slack: SlackEmulator) -> None:
    with pytest.raises(SlackApiError) as caught:
        WebClient(token="xoxb-stolen", base_url=slack.api_url).chat_postMessage(
            channel="C0DRAFTS", text="hello"
        )
    assert caught.value.response["error"] == "invalid_auth"
    assert slack.messages("C0DRAFTS") == []


def test_token_as_form_field_is_accepted(slack: SlackEmulator) -> None:
    status, body = raw_post(
        slack.api_url + "auth.test",
        b"token=xoxb-acme",
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert (status, body["ok"], body["team_id"]) == (200, True, "T0ACME")


def test_form_encoded_blocks_are_json_text(slack: SlackEmulator) -> None:
    blocks = json.dumps([{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}])
    body = urllib.parse.urlencode({"channel": "C0DRAFTS", "text": "hi", "blocks": blocks})
    status, answer = raw_post(
        slack.api_url + "chat.postMessage",
        body.encode(),
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": "Bearer xoxb-acme",
        },
    )
    assert (status, answer["ok"]) == (200, True)
    assert slack.messages("C0DRAFTS")[0].blocks[0]["text"]["text"] == "*hi*"


def test_unusable_bodies_get_slacks_error_names(slack: SlackEmulator) -> None:
    auth = {"Authorization": "Bearer xoxb-acme"}
    url = slack.api_url + "chat.postMessage"
    assert raw_post(url, b"{", {**auth, "Content-Type": "application/json"})[1]["error"] == (
        "invalid_json"
    )
    assert raw_post(url, b"<x/>", {**auth, "Content-Type": "text/xml"})[1]["error"] == (
        "invalid_post_type"
    )


def test_unknown_method(web: WebClient) -> None:
    with pytest.raises(SlackApiError) as caught:
        web.api_call("chat.teleport")
    assert caught.value.response["error"] == "unknown_method"


def test_team_info(web: WebClient) -> None:
    assert web.team_info()["team"] == {"id": "T0ACME", "name": "Acme", "domain": "acme"}


def test_each_token_sees_only_its_own_team(slack: SlackEmulator) -> None:
    slack.add_team("T0OTHER", domain="other", bot_token="xoxb-other", bot_user_id="U0OTHERBOT")
    other = WebClient(token="xoxb-other", base_url=slack.api_url)
    assert other.auth_test()["team_id"] == "T0OTHER"
    with pytest.raises(SlackApiError) as caught:
        other.chat_postMessage(channel="C0DRAFTS", text="hello")
    assert caught.value.response["error"] == "channel_not_found"
