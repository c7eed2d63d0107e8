"""users.*, usergroups.*, team and conversations.*: what the bot reads about the workspace."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.sandbox.emulator import SlackEmulator


def error_of(call, **kwargs) -> str:
    with pytest.raises(SlackApiError) as caught:
        call(**kwargs)
    return caught.value.response["error"]


def test_users_info_gives_time_zone_and_deleted_flag(web: WebClient) -> None:
    anna = web.users_info(user="U0ANNA")["user"]
    assert (anna["tz"], anna["tz_offset"], anna["deleted"]) == ("Europe/Rome", 3600, False)
    assert web.users_info(user="U0GONE")["user"]["deleted"] is True
    assert error_of(web.users_info, user="U0NOBODY") == "user_not_found"


def test_usergroup_members(web: WebClient, slack: SlackEmulator) -> None:
    assert web.usergroups_users_list(usergroup="S0EDITORS")["users"] == ["U0ANNA", "U0LUCA"]
    assert error_of(web.usergroups_users_list, usergroup="S0NOPE") == "no_such_subteam"
    slack.add_usergroup("S0OLD", ["U0ANNA"], disabled=True)
    assert error_of(web.usergroups_users_list, usergroup="S0OLD") == "no_such_subteam"
    assert web.usergroups_users_list(usergroup="S0OLD", include_disabled=True)["users"] == [
        "U0ANNA"
    ]


def test_missing_required_argument(web: WebClient) -> None:
    with pytest.raises(SlackApiError) as caught:
        web.api_call("usergroups.users.list", params={})
    assert caught.value.response["error"] == "invalid_arguments"


def test_dm_channel_is_one_per_user(web: WebClient, slack: SlackEmulator) -> None:
    dm = web.conversations_open(users="U0ANNA")["channel"]["id"]
    assert dm.startswith("D")
    assert web.conversations_open(users=["U0ANNA"])["channel"]["id"] == dm
    assert web.conversations_open(users="U0LUCA")["channel"]["id"] != dm
    web.chat_postMessage(channel=dm, text="your draft was approved")
    web.chat_postMessage(channel="U0ANNA", text="and published")
    assert [m.text for m in slack.messages("U0ANNA")] == [
        "your draft was approved",
        "and published",
    ]
    assert error_of(web.conversations_open, users="U0NOBODY") == "user_not_found"
    with pytest.raises(SlackApiError) as caught:
        web.api_call("conversations.open", json={})
    assert caught.value.response["error"] == "users_list_not_supplied"


def test_group_dm(web: WebClient) -> None:
    first = web.conversations_open(users="U0ANNA,U0LUCA")["channel"]["id"]
    assert first.startswith("G")
    assert web.conversations_open(users="U0LUCA,U0ANNA")["channel"]["id"] == first


def test_conversations_info(web: WebClient) -> None:
    drafts = web.conversations_info(channel="C0DRAFTS")["channel"]
    assert (drafts["name"], drafts["is_member"], drafts["is_private"]) == ("drafts", True, False)
    assert web.conversations_info(channel="C0QUIET")["channel"]["is_member"] is False
    assert error_of(web.conversations_info, channel="C0NOWHERE") == "channel_not_found"


def test_join_lets_the_bot_post(web: WebClient, slack: SlackEmulator) -> None:
    assert error_of(web.chat_postMessage, channel="C0QUIET", text="x") == "not_in_channel"
    joined = web.conversations_join(channel="C0QUIET")
    assert joined["channel"]["is_member"] is True
    assert web.conversations_join(channel="C0QUIET")["warning"] == "already_in_channel"
    web.chat_postMessage(channel="C0QUIET", text="hello")
    assert [m.text for m in slack.messages("C0QUIET")] == ["hello"]
    error = error_of(web.conversations_join, channel="C0SECRET")
    assert error == "method_not_supported_for_channel_type"
    assert error_of(web.conversations_join, channel="C0OLD") == "is_archived"
