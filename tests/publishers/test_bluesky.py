"""The Bluesky publisher, through the atproto SDK, against a local PDS."""

from __future__ import annotations

import re

import pytest

from bot.publishers.base import PermanentFailure, TemporaryFailure
from bot.publishers.bluesky import BlueskyPublisher, record_key
from tests.publishers.conftest import TEXT, publication
from tests.publishers.fakes import FakePds

TID = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
DID = "did:plc:acme0000000000000000000"


@pytest.fixture
def pds():
    fake = FakePds()
    with fake.server:
        yield fake


def publisher(pds: FakePds, password: str = FakePds.PASSWORD) -> BlueskyPublisher:
    return BlueskyPublisher("sky", "acme.bsky.social", password, service=pds.server.url)


def only_record(pds: FakePds) -> dict:
    (record,) = pds.records.values()
    return record


def byte_range(text: str, part: str) -> dict[str, int]:
    start = text.encode("utf-8").index(part.encode("utf-8"))
    return {"byteStart": start, "byteEnd": start + len(part.encode("utf-8"))}


def test_the_post_is_the_approved_text_with_facets_at_utf8_byte_offsets(pds, approved):
    published = publisher(pds).publish(approved)

    record = only_record(pds)
    assert record["$type"] == "app.bsky.feed.post"
    assert record["text"] == TEXT
    facets = sorted(record["facets"], key=lambda f: f["index"]["byteStart"])
    for facet in facets:
        facet["index"].pop("$type", None)  # the SDK types the byteSlice; the PDS accepts both
    assert facets == [
        {
            "$type": "app.bsky.richtext.facet",
            "index": byte_range(TEXT, "#MadeInItaly"),
            "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "MadeInItaly"}],
        },
        {
            "$type": "app.bsky.richtext.facet",
            "index": byte_range(TEXT, "@acme.bsky.social"),
            "features": [{"$type": "app.bsky.richtext.facet#mention", "did": DID}],
        },
        {
            "$type": "app.bsky.richtext.facet",
            "index": byte_range(TEXT, "https://acme.example/menù"),
            "features": [
                {"$type": "app.bsky.richtext.facet#link", "uri": "https://acme.example/menù"}
            ],
        },
    ]
    rkey = record_key(approved)
    assert published.remote_id == f"at://{DID}/app.bsky.feed.post/{rkey}"
    assert published.permalink == f"https://bsky.app/profile/acme.bsky.social/post/{rkey}"


def test_the_byte_offsets_point_at_the_text_they_decorate(pds):
    text = "Perché no? 😀👩‍👩‍👧 Città: https://città.example/x), ciao #caffè2026 @ghost.example."
    publisher(pds).publish(publication(text))

    record = only_record(pds)
    raw = text.encode("utf-8")
    shown = {
        raw[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode("utf-8")
        for f in record["facets"]
    }
    assert shown == {"https://città.example/x", "#caffè2026"}  # @ghost.example: unknown handle


def test_the_record_key_is_a_stable_tid_per_revision_and_target():
    key = record_key(publication())

    assert TID.match(key)
    assert record_key(publication()) == key
    assert record_key(publication(target="sky-2")) != key
    assert record_key(publication(revision=3)) != key


def test_a_retry_cannot_create_a_second_post(pds, approved):
    target = publisher(pds)

    first = target.publish(approved)
    again = target.publish(approved)

    assert again == first
    assert len(pds.records) == 1
    creates = [r for r in pds.server.requests if r.path.endswith("createRecord")]
    assert [r.json()["rkey"] for r in creates] == [record_key(approved)] * 2


def test_a_pds_that_answers_500_for_a_taken_key_still_counts_as_published(pds, approved):
    target = publisher(pds)
    first = target.publish(approved)
    pds.duplicate_reply = (500, "InternalServerError")

    assert target.publish(approved) == first
    assert len(pds.records) == 1


def test_the_session_is_reused(pds, approved):
    target = publisher(pds)
    target.publish(approved)
    publisher(pds).publish(publication(target="sky-2"))

    assert pds.sessions == 1


def test_a_wrong_app_password_is_permanent_and_names_the_target(pds, approved):
    with pytest.raises(PermanentFailure) as failure:
        publisher(pds, password="wrong").publish(approved)

    assert "refused the app password of acme.bsky.social (target 'sky')" in failure.value.message
    assert pds.records == {}


def test_429_is_temporary_with_the_wait_the_pds_asked_for(pds, approved):
    target = publisher(pds)
    target.publish(publication(target="warm-up"))
    pds.rate_limited_for = 300

    with pytest.raises(TemporaryFailure) as failure:
        target.publish(approved)

    assert 290 <= failure.value.retry_after <= 301
    assert len(pds.records) == 1


def test_a_record_the_pds_refuses_is_permanent_with_its_words(pds):
    with pytest.raises(PermanentFailure) as failure:
        publisher(pds).publish(publication("è" * 301))

    assert "Record/text must not be longer than 300 graphemes" in failure.value.message


def test_an_unreachable_pds_is_temporary(approved):
    fake = FakePds()
    with fake.server:
        url = fake.server.url

    with pytest.raises(TemporaryFailure) as failure:
        BlueskyPublisher("sky", "acme.bsky.social", "pw", service=url, timeout=2).publish(approved)

    assert failure.value.message.startswith(f"cannot reach {url}")


def test_a_post_whose_answer_was_lost_counts_as_published_on_retry(pds, approved):
    pds.write_delay = 1.5
    target = BlueskyPublisher(
        "sky", "acme.bsky.social", FakePds.PASSWORD, service=pds.server.url, timeout=0.5
    )

    first = target.publish(approved)  # the create timed out; the record was there

    pds.write_delay = 0.0
    assert target.publish(approved) == first
    assert len(pds.records) == 1
