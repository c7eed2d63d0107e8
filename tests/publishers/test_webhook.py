"""The webhook publisher against a receiver that verifies signatures and deduplicates keys."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import fields, replace
from email.utils import formatdate

import pytest

from bot.publishers.base import PermanentFailure, Publication, TemporaryFailure
from bot.publishers.webhook import WebhookPublisher
from tests.publishers.fakes import GARBAGE, Reply, WebhookReceiver

SECRET = "whsec-0123456789"


@pytest.fixture
def receiver():
    receiver = WebhookReceiver(SECRET)
    with receiver.server:
        yield receiver


def publisher(receiver: WebhookReceiver, timeout: float = 5.0) -> WebhookPublisher:
    return WebhookPublisher("zapier", receiver.server.url + "/hooks/in", SECRET, timeout)


def test_the_receiver_gets_the_approved_post_signed(receiver, approved: Publication):
    published = publisher(receiver).publish(approved)

    assert published.remote_id == "evt_1"
    (request,) = receiver.server.requests
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    assert json.loads(request.body) == {
        "post_id": "P0001",
        "revision": 2,
        "text": approved.text,
        "targets": ["out", "other"],
        "campaign": "autunno",
        "approvals": list(approved.approvals),
        "idempotency_key": "gl-T0ACME-P0001-r2-out",
    }
    assert set(json.loads(request.body)) == {f.name for f in fields(Publication)}  # all of it
    expected = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-greenlight-signature"] == f"sha256={expected}"
    assert request.headers["x-greenlight-timestamp"].isdigit()
    assert request.headers["idempotency-key"] == "gl-T0ACME-P0001-r2-out"


def test_a_retry_carries_the_same_key_and_the_receiver_stores_the_post_once(
    receiver, approved: Publication
):
    target = publisher(receiver)
    receiver.script.append(Reply(503, b"upstream busy", {"Content-Type": "text/plain"}))

    with pytest.raises(TemporaryFailure) as failure:
        target.publish(approved)
    assert "503" in failure.value.message
    first = target.publish(approved)
    again = target.publish(approved)

    assert first == again
    assert len(receiver.stored) == 1
    keys = {r.headers["idempotency-key"] for r in receiver.server.requests}
    assert keys == {"gl-T0ACME-P0001-r2-out"}


def test_a_wrong_secret_is_refused_for_good_with_the_receivers_words(receiver, approved):
    target = WebhookPublisher("zapier", receiver.server.url + "/in", "another-secret")

    with pytest.raises(PermanentFailure) as failure:
        target.publish(approved)

    assert failure.value.message == (
        f"{receiver.server.url}/in answered 401: " + '{"error": "bad signature"}'
    )
    assert receiver.stored == {}


def test_a_long_refusal_is_shortened_for_humans(receiver, approved):
    receiver.script.append(Reply(422, b"x" * 2000, {"Content-Type": "text/plain"}))

    with pytest.raises(PermanentFailure) as failure:
        publisher(receiver).publish(approved)

    assert failure.value.message.endswith("x" * 500 + "…")
    assert len(failure.value.message) < 600


def test_429_is_temporary_with_the_receivers_retry_after(receiver, approved):
    receiver.script.append(Reply(429, {"error": "slow down"}, {"Retry-After": "7"}))

    with pytest.raises(TemporaryFailure) as failure:
        publisher(receiver).publish(approved)

    assert failure.value.retry_after == 7.0


def test_a_receiver_that_does_not_answer_in_time_is_temporary(receiver, approved):
    receiver.script.append(Reply(200, {"id": "late"}, delay=1.5))

    with pytest.raises(TemporaryFailure) as failure:
        publisher(receiver, timeout=0.3).publish(approved)

    assert "did not answer in 0.3 s" in failure.value.message


def test_a_receiver_that_is_down_is_temporary(approved):
    receiver = WebhookReceiver(SECRET)
    with receiver.server:
        url = receiver.server.url
    target = WebhookPublisher("zapier", url, SECRET, timeout=2)

    with pytest.raises(TemporaryFailure) as failure:
        target.publish(approved)

    assert failure.value.message.startswith(f"cannot reach {url}")


def test_a_redirect_is_not_followed(receiver, approved):
    receiver.script.append(Reply(301, b"", {"Location": "https://elsewhere.example/in"}))

    with pytest.raises(PermanentFailure) as failure:
        publisher(receiver).publish(approved)

    assert "redirects to https://elsewhere.example/in" in failure.value.message
    assert len(receiver.server.requests) == 1


def test_a_receiver_without_an_id_gets_the_idempotency_key_as_remote_id(receiver, approved):
    receiver.script.append(Reply(204))

    assert publisher(receiver).publish(approved).remote_id == approved.idempotency_key


def test_retry_after_as_an_http_date_becomes_seconds(receiver, approved):
    later = formatdate(time.time() + 60, usegmt=True)
    receiver.script.append(Reply(503, b"", {"Retry-After": later}))

    with pytest.raises(TemporaryFailure) as failure:
        publisher(receiver).publish(approved)

    assert 55 <= failure.value.retry_after <= 60


def test_an_answer_that_is_not_http_is_temporary(receiver, approved):
    receiver.script.append(Reply(GARBAGE))

    with pytest.raises(TemporaryFailure) as failure:
        publisher(receiver).publish(approved)

    assert failure.value.message.startswith(f"cannot reach {receiver.server.url}")


def test_the_connection_is_kept_alive_and_one_the_receiver_closed_is_replaced(
    receiver, approved: Publication
):
    receiver.server.idle_timeout = 0.3  # the receiver drops connections idle for 0.3 s
    target = publisher(receiver)
    target.publish(approved)
    target.publish(replace(approved, idempotency_key="gl-T0ACME-P0002-r1-out"))
    time.sleep(0.8)  # the kept-alive connection is closed by the receiver meanwhile
    target.publish(replace(approved, idempotency_key="gl-T0ACME-P0003-r1-out"))
    first, second, third = receiver.server.peers
    assert first == second != third  # two posts on one connection; then a new one
    assert len(receiver.stored) == 3 and len(receiver.arrivals) == 3
