"""The Slack publisher against the Slack Web API emulator."""

from __future__ import annotations

import html
import time

import pytest
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.publishers.base import PermanentFailure, TemporaryFailure, UnknownOutcome
from bot.publishers.slack import ChannelPacer, SlackPublisher
from bot.sandbox.emulator import SlackEmulator
from tests.publishers.conftest import publication
from tests.sandbox.conftest import build_workspace


@pytest.fixture
def slack():
    with SlackEmulator(build_workspace()) as emulator:
        yield emulator


@pytest.fixture
def bot_client(slack: SlackEmulator) -> WebClient:
    """The bot's client as the app builds it, retry handlers included."""
    return WebClient(
        token="xoxb-acme",
        base_url=slack.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
    )


def publisher(client: WebClient, channel: str = "C0DRAFTS") -> SlackPublisher:
    return SlackPublisher("announce", channel, client, pacer=ChannelPacer(interval=0))


def test_the_channel_shows_exactly_the_approved_text(slack, bot_client):
    text = "Caffè 🇮🇹 *non* _in grassetto_ & <!channel> <https://x.example|clicca> ~fine~\n> no"
    published = publisher(bot_client).publish(publication(text))

    (message,) = slack.messages("C0DRAFTS")
    assert html.unescape(message.text) == text  # what Slack shows, byte for byte
    assert message.text == text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert message.blocks in (None, [])
    (call,) = slack.calls("chat.postMessage")
    assert call.args["mrkdwn"] in (False, "false", "0")
    assert published.remote_id == f"C0DRAFTS/{message.ts}"
    assert (
        published.permalink
        == f"https://acme.slack.com/archives/C0DRAFTS/p{message.ts.replace('.', '')}"
    )


def test_plain_text_goes_out_unchanged(slack, bot_client, approved):
    publisher(bot_client).publish(approved)

    assert slack.messages("C0DRAFTS")[0].text.encode() == approved.text.encode()


def test_429_is_temporary_with_retry_after_and_is_not_retried_inside(slack, bot_client, approved):
    slack.rate_limit("chat.postMessage", times=1, retry_after=30)

    with pytest.raises(TemporaryFailure) as failure:
        publisher(bot_client).publish(approved)

    assert failure.value.retry_after == 30.0
    assert len(slack.calls("chat.postMessage")) == 1  # no sleeping inside the worker's claim
    assert slack.messages("C0DRAFTS") == []


def test_5xx_is_temporary(slack, bot_client, approved):
    slack.server_error("chat.postMessage", status=503)

    with pytest.raises(TemporaryFailure) as failure:
        publisher(bot_client).publish(approved)

    assert "503" in failure.value.message
    assert len(slack.calls("chat.postMessage")) == 1


@pytest.mark.parametrize(
    ("channel", "words"),
    [
        ("C0NOWHERE", "the channel C0NOWHERE does not exist or the bot cannot see it"),
        ("C0QUIET", "the bot is not a member of C0QUIET: invite it with /invite"),
        ("C0OLD", "the channel C0OLD is archived"),
    ],
)
def test_channels_that_cannot_take_the_post_are_permanent_failures(
    slack, bot_client, approved, channel, words
):
    with pytest.raises(PermanentFailure) as failure:
        publisher(bot_client, channel).publish(approved)

    assert failure.value.message == words


def test_the_post_is_out_even_when_the_permalink_is_not(slack, bot_client, approved):
    slack.fail("chat.getPermalink", "internal_error")

    published = publisher(bot_client).publish(approved)

    assert published.permalink is None
    assert len(slack.messages("C0DRAFTS")) == 1


def test_the_pacer_spaces_posts_to_one_channel_and_not_across_channels():
    now = [100.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)

    pacer = ChannelPacer(interval=1.0, clock=lambda: now[0], sleep=sleep)
    pacer.wait_turn("C1")
    pacer.wait_turn("C1")
    pacer.wait_turn("C2")
    pacer.wait_turn("C1")

    assert waits == [1.0, 2.0]


def test_slack_publisher_is_not_idempotent(bot_client):
    assert publisher(bot_client).idempotent is False


def test_an_answer_that_never_comes_is_reported_not_retried(slack, approved):
    client = WebClient(token="xoxb-acme", base_url=slack.api_url, timeout=0.5)
    slack.delay("chat.postMessage", 1.0)

    with pytest.raises(UnknownOutcome) as failure:
        publisher(client).publish(approved)

    assert "it may have been posted: check the channel" in failure.value.message
    time.sleep(1.0)
    assert len(slack.messages("C0DRAFTS")) == 1  # it was: a retry would have doubled it


def test_a_slack_that_cannot_be_reached_is_temporary(approved):
    with SlackEmulator(build_workspace()) as gone:
        url = gone.api_url

    with pytest.raises(TemporaryFailure) as failure:
        publisher(WebClient(token="xoxb-acme", base_url=url)).publish(approved)

    assert failure.value.message.startswith("cannot reach Slack")
