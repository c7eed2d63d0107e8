"""Injected failures look exactly like Slack's, and slack_sdk's retry handlers get through."""

from __future__ import annotations

import urllib.error

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.sandbox.emulator import SlackEmulator
from tests.sandbox.conftest import build_workspace


def test_rate_limit_answers_429_with_retry_after(
    web: WebClient, slack: SlackEmulator, clock
) -> None:
    slack.rate_limit("chat.postMessage", retry_after=7)
    with pytest.raises(SlackApiError) as caught:
        web.chat_postMessage(channel="C0DRAFTS", text="x")
    response = caught.value.response
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response["error"] == "ratelimited"
    assert slack.messages("C0DRAFTS") == []
    clock.advance(5)  # as on Slack, calling again inside the window is rate-limited again
    with pytest.raises(SlackApiError) as caught:
        web.chat_postMessage(channel="C0DRAFTS", text="x")
    assert caught.value.response.headers["Retry-After"] == "2"
    assert web.auth_test()["ok"]  # other methods are not limited
    clock.advance(2)
    assert web.chat_postMessage(channel="C0DRAFTS", text="x")["ok"]


def test_retry_handler_waits_and_gets_through() -> None:
    # Real time here: the handler really sleeps Retry-After, and a retry made sooner would be
    # rate-limited again.
    with SlackEmulator(build_workspace()) as slack:
        web = WebClient(token="xoxb-acme", base_url=slack.api_url)
        web.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
        slack.rate_limit("chat.postMessage", times=1, retry_after=1)
        assert web.chat_postMessage(channel="C0DRAFTS", text="eventually")["ok"]
        assert [c.status for c in slack.calls("chat.postMessage")] == [429, 200]
        assert [m.text for m in slack.messages("C0DRAFTS")] == ["eventually"]


def test_faults_hit_only_their_method_unless_any(
    web: WebClient, slack: SlackEmulator, clock
) -> None:
    slack.rate_limit("views.publish")
    assert web.auth_test()["ok"]
    slack.rate_limit()
    with pytest.raises(SlackApiError):
        web.auth_test()
    clock.advance(1)  # past the Retry-After of that 429
    assert web.auth_test()["ok"]


def test_server_errors(web: WebClient, slack: SlackEmulator) -> None:
    slack.server_error("users.info", status=503)
    with pytest.raises(SlackApiError) as caught:
        web.users_info(user="U0ANNA")
    assert caught.value.response.status_code == 503
    assert caught.value.response["error"] == "service_unavailable"

    web.retry_handlers.append(ServerErrorRetryHandler(max_retry_count=1))
    slack.server_error("users.info", status=500)
    assert web.users_info(user="U0ANNA")["user"]["id"] == "U0ANNA"
    assert [c.status for c in slack.calls("users.info")] == [503, 500, 200]


def test_slack_going_down_mid_way(web: WebClient, slack: SlackEmulator) -> None:
    """`after`: the first calls go through, then every later one fails (until cleared)."""
    slack.server_error("users.info", times=None, status=503, after=2)
    for _ in range(2):
        assert web.users_info(user="U0ANNA")["ok"]
    for _ in range(2):
        with pytest.raises(SlackApiError):
            web.users_info(user="U0ANNA")
    assert web.auth_test()["ok"]  # other methods are not affected
    assert [c.status for c in slack.calls("users.info")] == [200, 200, 503, 503]


def test_any_slack_error_on_demand(web: WebClient, slack: SlackEmulator) -> None:
    slack.fail("chat.update", "edit_window_closed", times=None)
    posted = web.chat_postMessage(channel="C0DRAFTS", text="x")
    for _ in range(3):
        with pytest.raises(SlackApiError) as caught:
            web.chat_update(channel="C0DRAFTS", ts=posted["ts"], text="y")
        assert caught.value.response["error"] == "edit_window_closed"
    slack.clear_faults()
    assert web.chat_update(channel="C0DRAFTS", ts=posted["ts"], text="y")["ok"]


def test_tokens_are_checked_before_faults(slack: SlackEmulator) -> None:
    slack.rate_limit()
    with pytest.raises(SlackApiError) as caught:
        WebClient(token="xoxb-wrong", base_url=slack.api_url).auth_test()
    assert caught.value.response["error"] == "invalid_auth"


def test_latency_outlasts_a_short_client_timeout(slack: SlackEmulator) -> None:
    slack.delay("auth.test", 1.5)
    impatient = WebClient(token="xoxb-acme", base_url=slack.api_url, timeout=0.2)
    with pytest.raises((TimeoutError, urllib.error.URLError)):
        impatient.auth_test()
    slack.clear_faults()
    assert impatient.auth_test()["ok"]
