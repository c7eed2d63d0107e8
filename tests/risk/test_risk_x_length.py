"""Our fast X weighted length agrees with twitter-text-parser, the conformance-tested one."""

from __future__ import annotations

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st
from twitter_text import parse_tweet

from workflows.risk.length import _grapheme_total, x_weighted_length
from workflows.risk.text import PreparedText

SAMPLES = [
    "hello",
    "ciao © ® ™ ‼ è più così “virgolette” — trattino… ★ ✓ ❤️ ❤",
    "😀👍🏽👨‍👩‍👧 🇮🇹 #️⃣ 1️⃣",
    "日本語 テキスト 한국어",
    "see https://example.com/a/very/long/path?x=1 and bit.ly/abc and www.acme.it",
    "Ελληνικά русский עברית العربية हिन्दी",
    "shop.nike.com/x #ad @brand mail a@b.com",
]


def weighted(text: str) -> int:
    return x_weighted_length(text, [(u.start, u.end) for u in PreparedText(text).urls])


@pytest.mark.parametrize("text", SAMPLES)
def test_known_samples(text: str) -> None:
    assert weighted(text) == parse_tweet(text).weightedLength


pieces = st.sampled_from(
    [
        "ciao ",
        "è ",
        "😀",
        "👍🏽",
        "🇮🇹",
        "日本",
        "https://acme.it/x ",
        "acme.com ",
        "— ",
        "#tag ",
        "\n",
    ]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(pieces, max_size=40).map("".join))
def test_random_mixes(text: str) -> None:
    assert weighted(text) == parse_tweet(text).weightedLength


graphemes = st.sampled_from(
    [
        "a",
        "è",
        "e\u0301",
        "👨‍👩‍👧",
        "🏃‍♀️",
        "🇮🇹",
        "👍🏽",
        "\r\n",
        "\r",
        "한",
        "ᄀ",
        "ᅡ",
        "1️⃣",
        "क्षि",
        " ",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(graphemes, max_size=60).map("".join))
def test_bluesky_grapheme_count_matches_full_segmentation(text: str) -> None:
    assert _grapheme_total(text) == len(regex.findall(r"\X", text))
