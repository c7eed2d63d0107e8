"""Building publishers from the workflow file's targets and the environment."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient

from bot.publishers import MissingSecret, publisher_for
from bot.publishers.bluesky import BlueskyPublisher
from bot.publishers.mastodon import MastodonPublisher
from bot.publishers.slack import SlackPublisher
from bot.publishers.webhook import WebhookPublisher
from workflows.configfile import parse_workflow_file

WORKFLOW = """\
approvals_channel: C0APPROVALS
targets:
  announce: {type: slack, channel: C0ANNOUNCE}
  zapier: {type: webhook, url: "https://hooks.example/in", secret_env: ZAPIER_SECRET}
  fedi: {type: mastodon, base_url: "https://mastodon.example", token_env: MASTODON_TOKEN,
         visibility: unlisted}
  sky: {type: bluesky, handle: acme.bsky.social, password_env: BSKY_APP_PASSWORD}
workflows:
  - name: standard
    steps: [{name: Copy review, approvers: {users: [U0ANNA]}}]
"""
ENV = {"ZAPIER_SECRET": "s", "MASTODON_TOKEN": "t", "BSKY_APP_PASSWORD": "p"}


def build(name: str, environ: dict[str, str]):
    config = parse_workflow_file(WORKFLOW)
    return publisher_for(name, config.targets[name], environ, lambda: WebClient(token="xoxb-test"))


@pytest.mark.parametrize(
    ("name", "kind", "idempotent"),
    [
        ("announce", SlackPublisher, False),
        ("zapier", WebhookPublisher, True),
        ("fedi", MastodonPublisher, True),
        ("sky", BlueskyPublisher, True),
    ],
)
def test_each_target_type_gets_its_publisher(name, kind, idempotent):
    built = build(name, ENV)

    assert isinstance(built, kind)
    assert built.idempotent is idempotent


@pytest.mark.parametrize(
    ("name", "variable"),
    [("zapier", "ZAPIER_SECRET"), ("fedi", "MASTODON_TOKEN"), ("sky", "BSKY_APP_PASSWORD")],
)
def test_a_missing_variable_names_itself_and_the_target(name, variable):
    environ = {k: v for k, v in ENV.items() if k != variable}

    with pytest.raises(MissingSecret) as missing:
        build(name, environ)

    assert str(missing.value) == (
        f"target {name!r} needs the environment variable {variable}, which is not set"
    )


def test_an_empty_variable_counts_as_missing():
    with pytest.raises(MissingSecret):
        build("fedi", {**ENV, "MASTODON_TOKEN": ""})
