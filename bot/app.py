"""Build the Bolt app from settings: one Slack client (honouring SLACK_API_URL, retrying 429
and 5xx), the listeners, and a private explanation whenever a listener fails."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

import redis
from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot import listeners
from bot.listeners.after_ack import failure_handler
from bot.runtime import Greenlight
from bot.settings import Settings
from workflows.configfile import load_workflow_file
from workflows.review import RiskReview

log = logging.getLogger(__name__)
DEFAULT_API_URL = "https://slack.com/api/"
#: Threads per process for the work after acknowledgements (Bolt's default is 5).
LISTENER_THREADS = 5


def slack_client(settings: Settings) -> WebClient:
    return WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url or DEFAULT_API_URL,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=3),  # waits Retry-After
            ServerErrorRetryHandler(max_retry_count=2),
        ],
    )


def load_greenlight(settings: Settings) -> Greenlight:
    """Settings → workflow file, Redis and risk checker (raises ConfigError on a bad file)."""
    assert settings.config_path is not None
    config = load_workflow_file(settings.config_path)
    review = RiskReview(config)
    return Greenlight(
        settings=settings,
        config=config,
        redis=redis.Redis.from_url(settings.redis_url, health_check_interval=30),
        assess_risk=review.level,
        findings=review.findings,
    )


def build_app(gl: Greenlight) -> App:
    executor = ThreadPoolExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="after-ack")
    app = App(
        client=slack_client(gl.settings),
        signing_secret=gl.settings.slack_signing_secret,
        # Ack functions run in the request thread and only touch Redis; Slack calls run after
        # the answer is sent, as lazy listeners on `executor` (see bot.listeners.after_ack).
        process_before_response=True,
        listener_executor=executor,
    )
    listeners.register(app, gl)
    app.error(failure_handler(executor))
    return app
