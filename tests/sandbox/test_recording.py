"""Every call is recorded in order, with its arguments, headers and answer."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot.sandbox.emulator import SlackEmulator
from tests.sandbox.conftest import Clock


def test_calls_are_recorded_in_order(web: WebClient, slack: SlackEmulator, clock: Clock) -> None:
    web.chat_postMessage(channel="C0DRAFTS", text="first")
    with pytest.raises(SlackApiError):
        web.chat_postMessage(channel="C0NOWHERE", text="second")
    web.users_info(user="U0ANNA")
    assert [c.method for c in slack.calls()] == ["chat.postMessage"] * 2 + ["users.info"]
    first, second = slack.calls("chat.postMessage")
    assert first.args == {"channel": "C0DRAFTS", "text": "first"}
    assert first.headers["Authorization"] == "Bearer xoxb-acme"
    assert first.ok and first.response["ts"]
    assert first.time == clock.now
    assert (second.ok, second.response["error"]) == (False, "channel_not_found")
    assert slack.calls("users.info")[0].args == {"user": "U0ANNA"}


def test_concurrent_calls_are_all_kept(web: WebClient, slack: SlackEmulator) -> None:
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(
            pool.map(lambda n: web.chat_postMessage(channel="C0DRAFTS", text=str(n)), range(40))
        )
    assert len({a["ts"] for a in answers}) == 40
    assert len(slack.calls("chat.postMessage")) == 40
    assert sorted(int(m.text) for m in slack.messages("C0DRAFTS")) == list(range(40))


def test_response_url_replaces_the_original(web: WebClient, slack: SlackEmulator) -> None:
    card = web.chat_postMessage(channel="C0DRAFTS", text="Approve?")
    url = slack.new_response_url(user_id="U0ANNA", channel_id="C0DRAFTS", message_ts=card["ts"])
    answer = WebhookClient(url).send(text="Approved by anna", replace_original=True)
    assert (answer.status_code, answer.body) == (200, "ok")
    [message] = slack.messages("C0DRAFTS")
    assert (message.ts, message.text) == (card["ts"], "Approved by anna")
    [post] = slack.response_url_posts(url)
    assert post.body["replace_original"] is True


def test_response_url_ephemeral_in_channel_and_delete(web: WebClient, slack: SlackEmulator) -> None:
    url = slack.new_response_url(user_id="U0ANNA", channel_id="C0DRAFTS")
    WebhookClient(url).send(text="just for you")
    WebhookClient(url).send(text="for everyone", response_type="in_channel")
    assert [e.text for e in slack.ephemeral_messages(user="U0ANNA")] == ["just for you"]
    assert [m.text for m in slack.messages("C0DRAFTS")] == ["for everyone"]
    card = slack.messages("C0DRAFTS")[0]
    on_card = slack.new_response_url(channel_id="C0DRAFTS", message_ts=card.ts)
    WebhookClient(on_card).send_dict({"delete_original": True})
    assert slack.messages("C0DRAFTS") == []


def test_response_url_refusals(slack: SlackEmulator) -> None:
    url = slack.new_response_url(user_id="U0ANNA", channel_id="C0DRAFTS")
    bad = WebhookClient(url).send(text="x", blocks=[{"type": "section"}])
    assert (bad.status_code, bad.body) == (400, "invalid_blocks")
    assert WebhookClient(url).send(text="").body == "no_text"
    unknown = WebhookClient(f"{slack.base_url}/response/nope").send(text="x")
    assert (unknown.status_code, unknown.body) == (404, "no_service")
    assert [p.status for p in slack.response_url_posts()] == [400, 400, 404]


def test_response_url_faults(slack: SlackEmulator) -> None:
    """Faults apply to response URLs under the method name "response_url": a server error as
    such, an error answer as a 404 with its text; then the URL works again."""
    url = slack.new_response_url(user_id="U0ANNA", channel_id="C0DRAFTS")
    slack.server_error("response_url", status=503)
    slack.fail("response_url", "expired_url")
    down, expired = (WebhookClient(url).send(text="x") for _ in range(2))
    assert (down.status_code, down.body) == (503, "service_unavailable")
    assert (expired.status_code, expired.body) == (404, "expired_url")
    assert WebhookClient(url).send(text="back").status_code == 200
    assert [e.text for e in slack.ephemeral_messages(user="U0ANNA")] == ["back"]
