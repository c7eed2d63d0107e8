"""Work that fails after its acknowledgement is explained to the person (Slack will not send
the request again), here against the Slack emulator over HTTP."""

from __future__ import annotations

import redis
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.listeners.after_ack import tell_about_failure
from bot.sandbox.emulator import SlackEmulator


def test_an_intake_message_whose_handling_failed_is_explained_to_who_posted_it():
    """A draft, an edit and a deletion whose work failed (Redis down): each author hears of
    it. (Nobody was told: the person was looked for where clicks and commands carry it.)"""
    with SlackEmulator() as slack:
        for user in ("U0AUTHOR", "U0EDITOR", "U0LEAVER"):
            slack.add_user(user)
        slack.add_channel("C0DRAFTS", "drafts")
        client = WebClient(token=slack.bot_token, base_url=slack.api_url)
        message = {"type": "message", "channel": "C0DRAFTS"}
        events = [
            {**message, "user": "U0AUTHOR", "text": "New draft", "ts": "1.1"},
            {**message, "subtype": "message_changed", "message": {"user": "U0EDITOR"}},
            {**message, "subtype": "message_deleted", "previous_message": {"user": "U0LEAVER"}},
        ]
        for event in events:
            body = {"type": "event_callback", "event": event}
            tell_about_failure(redis.ConnectionError("Redis is down"), body, client)
        for user in ("U0AUTHOR", "U0EDITOR", "U0LEAVER"):
            (told,) = [m.text for m in slack.messages(user)]
            assert "could not handle your message in <#C0DRAFTS> (ConnectionError)" in told
            assert "/greenlight mine" in told


def test_a_click_whose_form_slack_did_not_open_is_explained_with_slacks_reason():
    """Slack refused to open a form (its trigger expired): the DM names Slack's error, not
    only that a Slack call failed."""
    with SlackEmulator() as slack:
        slack.add_user("U0ANNA")
        client = WebClient(token=slack.bot_token, base_url=slack.api_url)
        slack.fail("views.open", "expired_trigger_id")
        try:
            client.views_open(trigger_id="0.0.x", view={"type": "modal"})
        except SlackApiError as refused:
            tell_about_failure(refused, {"type": "block_actions", "user": {"id": "U0ANNA"}}, client)
        (told,) = [m.text for m in slack.messages("U0ANNA")]
        assert "could not finish what you asked (expired_trigger_id)" in told
