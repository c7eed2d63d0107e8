"""views.*: trigger ids that expire, Block Kit limits of modals and Home tabs, hash races."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import InputBlock, PlainTextInputElement
from slack_sdk.models.views import View

from bot.sandbox.emulator import SlackEmulator
from tests.sandbox.conftest import Clock


def modal(title: str = "New draft", blocks: int = 1, **extra) -> dict:
    body = [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}] * blocks
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": title},
        "blocks": body,
        **extra,
    }


def home(blocks: int = 1) -> dict:
    return {"type": "home", "blocks": [{"type": "divider"}] * blocks}


def error_of(call, **kwargs) -> SlackApiError:
    with pytest.raises(SlackApiError) as caught:
        call(**kwargs)
    return caught.value


def test_open_with_a_fresh_trigger(web: WebClient, slack: SlackEmulator) -> None:
    view = View(
        type="modal",
        callback_id="draft",
        title="New draft",
        submit="Send",
        private_metadata="post=1",
        blocks=[
            InputBlock(
                block_id="text",
                label="Text",
                element=PlainTextInputElement(action_id="text", multiline=True, max_length=3000),
            )
        ],
    )
    opened = web.views_open(trigger_id=slack.mint_trigger_id("U0ANNA"), view=view)["view"]
    assert opened["id"].startswith("V")
    assert (opened["callback_id"], opened["private_metadata"]) == ("draft", "post=1")
    [stored] = slack.modal_stack("U0ANNA")
    assert stored.id == opened["id"]
    assert stored.payload["blocks"][0]["element"]["max_length"] == 3000


def test_trigger_ids_are_checked(web: WebClient, slack: SlackEmulator, clock: Clock) -> None:
    assert error_of(web.views_open, trigger_id="123.456.abc", view=modal()).response["error"] == (
        "invalid_trigger_id"
    )
    late = slack.mint_trigger_id("U0ANNA")
    clock.advance(3.5)
    assert error_of(web.views_open, trigger_id=late, view=modal()).response["error"] == (
        "expired_trigger_id"
    )
    used = slack.mint_trigger_id("U0ANNA")
    web.views_open(trigger_id=used, view=modal())
    assert error_of(web.views_open, trigger_id=used, view=modal()).response["error"] == (
        "exchanged_trigger_id"
    )
    assert len(slack.modal_stack("U0ANNA")) == 1


def test_invalid_view_is_refused_with_the_problem(web: WebClient, slack: SlackEmulator) -> None:
    trigger = slack.mint_trigger_id("U0ANNA")
    error = error_of(web.views_open, trigger_id=trigger, view=modal(title="t" * 25))
    assert error.response["error"] == "invalid_arguments"
    assert error.response["response_metadata"]["messages"] == [
        "[ERROR] title must be between 1 and 24 characters [json-pointer:/view]"
    ]
    error = error_of(web.views_open, trigger_id=trigger, view=modal(blocks=101))
    assert "between 1 and 100 blocks" in error.response["response_metadata"]["messages"][0]
    error = error_of(web.views_open, trigger_id=trigger, view=home())
    assert error.response["error"] == "invalid_arguments"
    assert web.views_open(trigger_id=trigger, view=modal(blocks=100))["ok"]


def test_push_stacks_at_most_three(web: WebClient, slack: SlackEmulator) -> None:
    root = web.views_open(trigger_id=slack.mint_trigger_id("U0ANNA"), view=modal())["view"]
    second = web.views_push(trigger_id=slack.mint_trigger_id("U0ANNA"), view=modal())["view"]
    assert (second["root_view_id"], second["previous_view_id"]) == (root["id"], root["id"])
    web.views_push(trigger_id=slack.mint_trigger_id("U0ANNA"), view=modal())
    error = error_of(web.views_push, trigger_id=slack.mint_trigger_id("U0ANNA"), view=modal())
    assert error.response["error"] == "push_limit_reached"
    assert len(slack.modal_stack("U0ANNA")) == 3


def test_update_with_hash(web: WebClient, slack: SlackEmulator) -> None:
    opened = web.views_open(
        trigger_id=slack.mint_trigger_id("U0ANNA"), view=modal(external_id="draft-1")
    )["view"]
    updated = web.views_update(view_id=opened["id"], hash=opened["hash"], view=modal("Saved"))
    assert updated["view"]["title"]["text"] == "Saved"
    assert updated["view"]["hash"] != opened["hash"]
    stale = error_of(web.views_update, view_id=opened["id"], hash=opened["hash"], view=modal())
    assert stale.response["error"] == "hash_conflict"
    by_external = web.views_update(external_id="draft-1", view=modal("Again"))["view"]
    assert by_external["id"] == opened["id"]
    assert slack.view(opened["id"]).payload["title"]["text"] == "Again"
    assert slack.calls("views.open")[0].args["view"]["external_id"] == "draft-1"
    assert error_of(web.views_update, view_id="V0NOPE", view=modal()).response["error"] == (
        "not_found"
    )


def test_publish_home_with_hash(web: WebClient, slack: SlackEmulator) -> None:
    first = web.views_publish(user_id="U0ANNA", view=home())["view"]
    second = web.views_publish(user_id="U0ANNA", view=home(2), hash=first["hash"])["view"]
    assert second["id"] == first["id"]
    assert len(slack.home("U0ANNA").payload["blocks"]) == 2
    race = error_of(web.views_publish, user_id="U0ANNA", view=home(3), hash=first["hash"])
    assert race.response["error"] == "hash_conflict"
    assert len(slack.home("U0ANNA").payload["blocks"]) == 2
    assert slack.home("U0LUCA") is None


def test_publish_limits(web: WebClient) -> None:
    assert web.views_publish(user_id="U0ANNA", view=home(100))["ok"]
    assert error_of(web.views_publish, user_id="U0ANNA", view=home(101)).response["error"] == (
        "invalid_arguments"
    )
    assert error_of(web.views_publish, user_id="U0ANNA", view=modal()).response["error"] == (
        "invalid_arguments"
    )
    assert error_of(web.views_publish, user_id="U0NOBODY", view=home()).response["error"] == (
        "user_not_found"
    )
