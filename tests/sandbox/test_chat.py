"""chat.*: what the bot posts lands in the channel, and Slack's refusals come back by name."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import ActionsBlock, ButtonElement, SectionBlock

from bot.sandbox.emulator import SlackEmulator
from tests.sandbox.conftest import Clock

DAY = 24 * 3600


def error_of(call, **kwargs) -> str:
    with pytest.raises(SlackApiError) as caught:
        call(**kwargs)
    assert caught.value.response.status_code == 200
    return caught.value.response["error"]


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def test_post_message_is_stored_and_returned(web: WebClient, slack: SlackEmulator) -> None:
    card = [
        SectionBlock(text="*Draft #1*"),
        ActionsBlock(elements=[ButtonElement(text="Approve", action_id="approve", value="p1")]),
    ]
    answer = web.chat_postMessage(channel="C0DRAFTS", text="Draft #1", blocks=card)
    assert answer["channel"] == "C0DRAFTS"
    assert answer["message"]["text"] == "Draft #1"
    assert answer["message"]["bot_id"] == "B0GREENLIGHT"
    [stored] = slack.messages("C0DRAFTS")
    assert stored.ts == answer["ts"]
    assert stored.user == "U0GREENLIGHT"
    assert stored.blocks[1]["elements"][0]["value"] == "p1"
    assert all(block["block_id"] for block in stored.blocks)


def test_post_by_channel_name_and_in_a_thread(web: WebClient, slack: SlackEmulator) -> None:
    parent = web.chat_postMessage(channel="#drafts", text="parent")
    reply = web.chat_postMessage(channel="C0DRAFTS", text="reply", thread_ts=parent["ts"])
    assert reply["message"]["thread_ts"] == parent["ts"]
    assert [m.thread_ts for m in slack.messages("C0DRAFTS")] == [None, parent["ts"]]


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_post_message_refusals(web: WebClient) -> None:
    post = web.chat_postMessage
    assert error_of(post, channel="C0NOWHERE", text="x") == "channel_not_found"
    assert error_of(post, channel="C0QUIET", text="x") == "not_in_channel"
    assert error_of(post, channel="C0OLD", text="x") == "is_archived"
    assert error_of(post, channel="C0DRAFTS", text="") == "no_text"
    assert error_of(post, channel="C0DRAFTS", text="x" * 40_001) == "msg_too_long"
    assert error_of(post, channel="", text="x") == "channel_not_found"


def test_longest_text_is_accepted(web: WebClient) -> None:
    assert web.chat_postMessage(channel="C0DRAFTS", text="x" * 40_000)["ok"]


def test_invalid_blocks_are_refused_with_the_problems(web: WebClient, slack: SlackEmulator) -> None:
    with pytest.raises(SlackApiError) as caught:
        web.chat_postMessage(channel="C0DRAFTS", text="x", blocks=[section("y")] * 51)
    assert caught.value.response["error"] == "invalid_blocks"
    assert caught.value.response["errors"] == [
        "no more than 50 items allowed [json-pointer:/blocks]"
    ]

    with pytest.raises(SlackApiError) as caught:
        web.chat_postMessage(channel="C0DRAFTS", text="x", blocks=[section("y" * 3001)])
    assert caught.value.response["errors"] == [
        "text attribute cannot exceed 3000 characters [json-pointer:/blocks/0]"
    ]

    long_button = {"type": "button", "text": {"type": "plain_text", "text": "b" * 76}}
    with pytest.raises(SlackApiError) as caught:
        web.chat_postMessage(
            channel="C0DRAFTS",
            text="x",
            blocks=[{"type": "actions", "elements": [{**long_button, "action_id": "a"}]}],
        )
    assert "[json-pointer:/blocks/0/elements/0]" in caught.value.response["errors"][0]

    with pytest.raises(SlackApiError) as caught:
        web.chat_postMessage(channel="C0DRAFTS", text="x", blocks=[{"type": "sparkles"}])
    assert caught.value.response["error"] == "invalid_blocks"
    assert slack.messages("C0DRAFTS") == []


def test_blocks_that_are_not_a_list(web: WebClient) -> None:
    error = error_of(web.chat_postMessage, channel="C0DRAFTS", text="x", blocks='{"type": 1}')
    assert error == "invalid_blocks_format"
    error = error_of(web.chat_postMessage, channel="C0DRAFTS", text="x", blocks="[not json")
    assert error == "invalid_blocks_format"


def test_fifty_blocks_are_accepted(web: WebClient) -> None:
    assert web.chat_postMessage(channel="C0DRAFTS", text="x", blocks=[section("y")] * 50)["ok"]


def test_update_keeps_the_ts_and_the_earlier_version(web: WebClient, slack: SlackEmulator) -> None:
    posted = web.chat_postMessage(channel="C0DRAFTS", text="v1", blocks=[section("v1")])
    updated = web.chat_update(channel="C0DRAFTS", ts=posted["ts"], text="v2", blocks=[])
    assert updated["ts"] == posted["ts"]
    assert updated["message"]["edited"]["user"] == "U0GREENLIGHT"
    [stored] = slack.messages("C0DRAFTS")
    assert (stored.text, stored.blocks) == ("v2", [])
    assert [e["text"] for e in stored.edits] == ["v1"]


def test_update_refusals(web: WebClient, slack: SlackEmulator) -> None:
    human = slack.post_user_message("C0DRAFTS", "U0ANNA", "my draft")
    update = web.chat_update
    assert error_of(update, channel="C0DRAFTS", ts="1.000001", text="x") == "message_not_found"
    assert error_of(update, channel="C0DRAFTS", ts=human.ts, text="x") == "cant_update_message"
    assert error_of(update, channel="C0NOWHERE", ts=human.ts, text="x") == "channel_not_found"
    with pytest.raises(SlackApiError) as caught:
        web.api_call("chat.update", json={"channel": "C0DRAFTS", "text": "x"})
    assert caught.value.response["error"] == "invalid_arguments"
    assert caught.value.response["response_metadata"]["messages"] == [
        "[ERROR] missing required field: ts"
    ]
    assert slack.messages("C0DRAFTS")[0].text == "my draft"


def test_ephemeral_reaches_only_members(web: WebClient, slack: SlackEmulator) -> None:
    answer = web.chat_postEphemeral(channel="C0DRAFTS", user="U0ANNA", text="only you")
    [ephemeral] = slack.ephemeral_messages(user="U0ANNA")
    assert (ephemeral.channel, ephemeral.text, ephemeral.message_ts) == (
        "C0DRAFTS",
        "only you",
        answer["message_ts"],
    )
    assert slack.messages("C0DRAFTS") == []
    post = web.chat_postEphemeral
    assert error_of(post, channel="C0QUIET", user="U0LUCA", text="x") == "user_not_in_channel"
    assert error_of(post, channel="C0DRAFTS", user="U0NOBODY", text="x") == "user_not_found"


def test_permalink(web: WebClient) -> None:
    posted = web.chat_postMessage(channel="C0DRAFTS", text="x")
    link = web.chat_getPermalink(channel="C0DRAFTS", message_ts=posted["ts"])["permalink"]
    assert link == f"https://acme.slack.com/archives/C0DRAFTS/p{posted['ts'].replace('.', '')}"
    error = error_of(web.chat_getPermalink, channel="C0DRAFTS", message_ts="1.000001")
    assert error == "message_not_found"


def test_scheduled_message_is_posted_when_due(
    web: WebClient, slack: SlackEmulator, clock: Clock
) -> None:
    post_at = int(clock.now) + 3600
    answer = web.chat_scheduleMessage(channel="C0DRAFTS", post_at=post_at, text="later")
    assert answer["scheduled_message_id"].startswith("Q")
    assert answer["post_at"] == post_at
    assert [s.text for s in slack.scheduled_messages()] == ["later"]
    assert slack.messages("C0DRAFTS") == []
    clock.advance(3600)
    assert [m.text for m in slack.messages("C0DRAFTS")] == ["later"]
    assert slack.scheduled_messages() == []
    error = error_of(
        web.chat_deleteScheduledMessage,
        channel="C0DRAFTS",
        scheduled_message_id=answer["scheduled_message_id"],
    )
    assert error == "invalid_scheduled_message_id"


def test_schedule_refusals(web: WebClient, clock: Clock) -> None:
    schedule = web.chat_scheduleMessage
    now = int(clock.now)
    assert error_of(schedule, channel="C0DRAFTS", post_at=now - 1, text="x") == "time_in_past"
    too_far = now + 120 * DAY + 1
    assert error_of(schedule, channel="C0DRAFTS", post_at=too_far, text="x") == "time_too_far"
    assert schedule(channel="C0DRAFTS", post_at=now + 120 * DAY, text="x")["ok"]
    assert error_of(schedule, channel="C0QUIET", post_at=now + 60, text="x") == "not_in_channel"


def test_delete_scheduled_message(web: WebClient, slack: SlackEmulator, clock: Clock) -> None:
    answer = web.chat_scheduleMessage(channel="C0DRAFTS", post_at=int(clock.now) + 60, text="x")
    scheduled_id = answer["scheduled_message_id"]
    web.chat_deleteScheduledMessage(channel="C0DRAFTS", scheduled_message_id=scheduled_id)
    clock.advance(120)
    assert slack.messages("C0DRAFTS") == []
    error = error_of(
        web.chat_deleteScheduledMessage, channel="C0DRAFTS", scheduled_message_id="Q0NOPE"
    )
    assert error == "invalid_scheduled_message_id"
