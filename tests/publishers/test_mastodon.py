"""The Mastodon publisher, through Mastodon.py, against a local instance."""

from __future__ import annotations

import pytest

from bot.publishers.base import PermanentFailure, TemporaryFailure
from bot.publishers.mastodon import MastodonPublisher
from tests.publishers.conftest import publication
from tests.publishers.fakes import FakeMastodon


@pytest.fixture
def instance():
    fake = FakeMastodon()
    with fake.server:
        yield fake


def publisher(
    instance: FakeMastodon, token: str = FakeMastodon.TOKEN, **kwargs
) -> MastodonPublisher:
    return MastodonPublisher("fedi", instance.server.url, token, **kwargs)


def test_the_status_is_the_approved_text_with_the_key_and_visibility(instance, approved):
    published = publisher(instance, visibility="unlisted").publish(approved)

    (status,) = instance.statuses.values()
    assert status["text"] == approved.text
    assert status["visibility"] == "unlisted"
    assert published.remote_id == status["id"]
    assert published.permalink == status["url"]
    (request,) = instance.server.requests
    assert request.headers["idempotency-key"] == "gl-T0ACME-P0001-r2-out"
    assert request.headers["authorization"] == f"Bearer {FakeMastodon.TOKEN}"


def test_a_retry_with_the_same_key_returns_the_same_status(instance, approved):
    target = publisher(instance)

    first = target.publish(approved)
    again = target.publish(approved)
    other = target.publish(publication(target="fedi-2"))

    assert first == again
    assert other.remote_id != first.remote_id
    assert len(instance.statuses) == 2


def test_429_is_temporary_with_the_instances_reset_time(instance, approved):
    instance.rate_limited_for = 120

    with pytest.raises(TemporaryFailure) as failure:
        publisher(instance).publish(approved)

    assert 110 <= failure.value.retry_after <= 121
    assert len(instance.server.requests) == 1  # Mastodon.py did not wait and retry by itself
    assert instance.statuses == {}


def test_422_is_permanent_with_the_instances_words(instance):
    with pytest.raises(PermanentFailure) as failure:
        publisher(instance).publish(publication("x" * 501))

    assert failure.value.message == (
        f"{instance.server.url} answered 422: Validation failed: Text character limit of 500 "
        "exceeded"
    )


def test_a_revoked_token_is_permanent_and_names_the_target(instance, approved):
    with pytest.raises(PermanentFailure) as failure:
        publisher(instance, token="revoked").publish(approved)

    assert "refused the access token of target 'fedi'" in failure.value.message
    assert "The access token is invalid" in failure.value.message


def test_5xx_is_temporary_and_a_retry_then_posts_once(instance, approved):
    instance.server_errors = 1
    target = publisher(instance)

    with pytest.raises(TemporaryFailure) as failure:
        target.publish(approved)
    target.publish(approved)

    assert "503" in failure.value.message
    assert len(instance.statuses) == 1


def test_an_unreachable_instance_is_temporary(approved):
    fake = FakeMastodon()
    with fake.server:
        url = fake.server.url

    with pytest.raises(TemporaryFailure) as failure:
        MastodonPublisher("fedi", url, "token", timeout=2).publish(approved)

    assert failure.value.message.startswith(f"cannot reach {url}")


def test_building_the_publisher_makes_no_request(instance):
    publisher(instance)

    assert instance.server.requests == []


def test_a_status_whose_answer_was_lost_is_not_posted_twice_on_retry(instance, approved):
    instance.post_delay = 1.5
    target = publisher(instance, timeout=0.5)

    with pytest.raises(TemporaryFailure):
        target.publish(approved)
    instance.post_delay = 0.0
    published = target.publish(approved)

    assert list(instance.statuses) == [published.remote_id]
