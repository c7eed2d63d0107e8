"""manifest.yaml creates the app the code expects: same command, shortcut, events and URL."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.listeners.commands import COMMAND
from bot.listeners.shortcuts import SEND_FOR_APPROVAL

MANIFEST = yaml.safe_load((Path(__file__).parents[2] / "manifest.yaml").read_text())


def test_command_and_shortcut_match_the_listeners():
    features = MANIFEST["features"]
    assert [c["command"] for c in features["slash_commands"]] == [COMMAND]
    assert [s["callback_id"] for s in features["shortcuts"]] == [SEND_FOR_APPROVAL]
    assert features["app_home"]["home_tab_enabled"] is True


def test_every_request_goes_to_the_one_endpoint():
    settings = MANIFEST["settings"]
    urls = {
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
        *(c["url"] for c in MANIFEST["features"]["slash_commands"]),
    }
    assert len(urls) == 1 and urls.pop().endswith("/slack/events")
    assert set(settings["event_subscriptions"]["bot_events"]) == {
        "app_home_opened",
        "message.channels",
        "message.groups",
    }


def test_scopes_cover_the_web_api_methods_greenlight_calls():
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    needed = {
        "chat:write",
        "im:write",
        "usergroups:read",
        "users:read",
        "commands",
        "channels:history",
        "channels:join",
    }
    assert needed <= scopes
