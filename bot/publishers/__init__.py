"""Publishers: one module per target type, each turning an approved `Publication` into a post.

`publisher_for` builds the one a target of the workflow file asks for, reading its secret from
the environment then (never from the file), so a missing variable stops the worker with a
message naming the variable and the target, while `greenlight validate` needs none of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from slack_sdk import WebClient

from bot.publishers.base import MissingSecret, Publisher, secret
from bot.publishers.bluesky import BlueskyPublisher
from bot.publishers.mastodon import MastodonPublisher
from bot.publishers.slack import SlackPublisher
from bot.publishers.webhook import WebhookPublisher
from workflows.config import BlueskyTarget, MastodonTarget, SlackTarget, Target, WebhookTarget

__all__ = ["MissingSecret", "publisher_for"]


def publisher_for(
    target_name: str,
    target: Target,
    environ: Mapping[str, str],
    slack_client_factory: Callable[[], WebClient],
) -> Publisher:
    """The publisher for one named target; `MissingSecret` when its variable is not set."""
    if isinstance(target, SlackTarget):
        return SlackPublisher(
            target_name, target.channel, slack_client_factory(), timeout=target.timeout_seconds
        )
    if isinstance(target, WebhookTarget):
        return WebhookPublisher(
            target_name,
            target.url,
            secret(environ, target.secret_env, target_name),
            target.timeout_seconds,
        )
    if isinstance(target, MastodonTarget):
        return MastodonPublisher(
            target_name,
            target.base_url,
            secret(environ, target.token_env, target_name),
            target.visibility,
        )
    if isinstance(target, BlueskyTarget):
        return BlueskyPublisher(
            target_name,
            target.handle,
            secret(environ, target.password_env, target_name),
            target.service,
        )
    raise TypeError(f"no publisher for targets of type {type(target).__name__}")
