"""Build the Bolt app from settings: one Slack client (honouring SLACK_API_URL, retrying 429
and 5xx), the listeners, and a private explanation whenever a listener fails."""

from __future__ import annotations

import logging

import redis
from slack_bolt import App
from slack_bolt.response import BoltResponse
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot import listeners
from bot.runtime import Greenlight
from bot.settings import Settings
from workflows.configfile import load_workflow_file
from workflows.review import RiskReview

log = logging.getLogger(__name__)
DEFAULT_API_URL = "https://slack.com/api/"


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
    app = App(
        client=slack_client(gl.settings),
        signing_secret=gl.settings.slack_signing_secret,
        process_before_response=False,  # ack first; the work runs after Slack has its answer
    )
    listeners.register(app, gl)

    @app.error
    def explain_failure(error: Exception, body: dict, client: WebClient) -> BoltResponse | None:
        log.exception("listener failed", exc_info=error)
        user = (body.get("user") or {}).get("id") or body.get("user_id")
        if user:
            try:
                client.chat_postMessage(
                    channel=user,
                    text=":warning: Greenlight could not finish what you asked "
                    f"({error.__class__.__name__}). Check `/greenlight status` before trying "
                    "again; nothing is half-done.",
                )
            except Exception:
                log.exception("could not tell %s about the failure", user)
        return None

    return app
