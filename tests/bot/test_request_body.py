"""`bot.request_body` decodes every body exactly as the standard library and Bolt do (any
difference would change what a click or a command means), but for one Bolt bug: a command
holding the word "payload"."""

from __future__ import annotations

import json
import random
from urllib.parse import parse_qsl, urlencode
from urllib.parse import unquote_plus as stdlib_unquote_plus

import pytest
from slack_bolt import BoltRequest
from slack_bolt.request.internals import parse_body as bolt_parse_body

from bot.request_body import FastBoltRequest, parse_body, unquote_plus

FORM = "application/x-www-form-urlencoded"
AWKWARD = [
    "",
    "+",
    "a+b%2Bc",
    "%20%2520",  # an escaped percent sign stays one: no second decoding
    "%",
    "%4",
    "%zz%41",
    "%%41",
    "100%",
    "%C3%A9t%C3%A9",
    "%c3%a9",
    "%E9t%E9",  # Latin-1, not UTF-8: replacement characters
    "%F0%9F%9A%80",
    "%00%0A%0D",
    "\\x41%5Cx41\\",  # backslashes in the text and escaped ones
    "\\%41",
    "%5C%5C",
    "été%20déjà",  # not ASCII: the standard library's own path
    "%u00e9",
]


@pytest.mark.parametrize("text", AWKWARD)
def test_unquote_plus_matches_the_standard_library(text: str):
    assert unquote_plus(text) == stdlib_unquote_plus(text)


def test_unquote_plus_matches_the_standard_library_on_random_text():
    rng = random.Random(20261126)
    alphabet = list("%%%2AafFgG+\\x4C3u{}é9 ")
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 16)))
        assert unquote_plus(text) == stdlib_unquote_plus(text), text


PAYLOAD = {
    "type": "block_actions",
    "user": {"id": "U0ANNA"},
    "team": {"id": "T0TEAM"},
    "actions": [{"action_id": "approve", "value": '{"post":"12","rev":2,"step":0}'}],
    "message": {"text": 'Ünïcode "quotes" & ampersands = equals + plus % percent \\ 🚀\n'},
}
BODIES = [
    (urlencode({"payload": json.dumps(PAYLOAD)}), FORM),
    (urlencode({"payload": json.dumps(PAYLOAD, ensure_ascii=False)}), FORM),
    (urlencode({"command": "/greenlight", "text": "status 12 + more", "user_id": "U0A"}), FORM),
    ("token=x&text=&user_id&user_id=U0B&&channel_id=C0%2", FORM),  # blank, bare, repeated
    (json.dumps({"type": "event_callback", "event": {"text": "100% é"}}), "application/json"),
    ('{"type": "url_verification", "challenge": "abc"}', FORM),
    ("", FORM),
]


@pytest.mark.parametrize(("body", "content_type"), BODIES)
def test_bodies_parse_as_bolt_parses_them(body: str, content_type: str):
    assert parse_body(body, content_type) == bolt_parse_body(body, content_type)
    headers = {"content-type": content_type, "x-slack-request-timestamp": "1700000000"}
    ours = FastBoltRequest(body=body, query="", headers=headers)
    bolts = BoltRequest(body=body, query="", headers=headers)
    assert ours.raw_body == bolts.raw_body  # what the signature is checked against
    assert ours.body == bolts.body
    assert dict(ours.context) == dict(bolts.context)  # team, user, channel, response_url
    assert ours.headers == bolts.headers and ours.content_type == bolts.content_type


@pytest.mark.parametrize(("body", "content_type"), BODIES)
def test_the_copy_for_a_lazy_listener_is_the_copy_bolt_makes(body: str, content_type: str):
    """Bolt copies the request for the work after an acknowledgement (`to_copyable`); ours is
    decoded by `parse_body` too, and holds what Bolt's copy holds."""
    headers = {"content-type": content_type, "x-slack-request-timestamp": "1700000000"}
    ours = FastBoltRequest(body=body, query="a=1", headers=headers)
    ours.context["response_url_seen"] = True  # what a middleware may have added
    bolts = BoltRequest(body=body, query="a=1", headers=headers)
    bolts.context["response_url_seen"] = True
    copy, expected = ours.to_copyable(), bolts.to_copyable()
    assert isinstance(copy, FastBoltRequest)
    assert copy.raw_body == expected.raw_body and copy.body == expected.body
    assert dict(copy.context) == dict(expected.context)
    assert copy.headers == expected.headers and copy.query == expected.query
    assert copy.mode == expected.mode == "http"
    assert copy.body is not ours.body  # a copy: the lazy listener's thread may change it


@pytest.mark.parametrize(
    "body",
    [
        urlencode({"command": "/greenlight", "text": "draft New payload launch"}),
        urlencode({"command": "/greenlight", "text": "queue", "channel_name": "payloads"}),
        "payload_ish=1",
    ],
)
def test_a_command_holding_the_word_payload_stays_a_command(body: str):
    """Bolt reads any form body holding "payload" as an interaction, so `/greenlight draft New
    payload launch` came to nothing; only a `payload` field makes one."""
    assert bolt_parse_body(body, FORM) == {}
    assert parse_body(body, FORM) == dict(parse_qsl(body, keep_blank_values=True))


@pytest.mark.parametrize(
    "body", [urlencode({"payload": '{"type": "block_actions",'}), "payload_ish=1&payload="]
)
def test_a_broken_payload_is_an_error_as_in_bolt(body: str):
    """The server answers 400 to it (tested end to end in tests/bot)."""
    with pytest.raises(ValueError):
        bolt_parse_body(body, FORM)
    with pytest.raises(ValueError):
        parse_body(body, FORM)
