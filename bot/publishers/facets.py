"""Where a post's text links, mentions and hashtags, for Bluesky's richtext facets.

Bluesky shows plain text unless the record says which byte ranges are links, mentions or tags.
Found here as character ranges; the publisher turns them into UTF-8 byte offsets (through
atproto's TextBuilder), so emoji and accented letters before a link do not shift it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

_URL = re.compile(r"(?<![\w/])https?://[^\s<>\"]+", re.IGNORECASE)
_MENTION = re.compile(
    r"(?<![\w@.])@((?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+"
    r"[a-zA-Z](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)"
)
_TAG = re.compile(r"(?<![\w#＃&])[#＃](\w*[^\W\d_]\w*)")
_TRAILING = ".,;:!?'\"…"
#: Bluesky's longest hashtag, in characters (without the #).
MAX_TAG = 64

Kind = Literal["link", "mention", "tag"]


@dataclass(frozen=True)
class Span:
    """`text[start:end]` is a link to `value`, a mention of handle `value` or tag `value`."""

    start: int
    end: int
    kind: Kind
    value: str


def spans(text: str) -> list[Span]:
    """Links, mentions and hashtags in order; where two overlap, the earlier one wins."""
    found = [*_links(text), *_mentions(text), *_tags(text)]
    kept: list[Span] = []
    for span in sorted(found, key=lambda s: (s.start, -s.end)):
        if not kept or span.start >= kept[-1].end:
            kept.append(span)
    return kept


def _links(text: str) -> list[Span]:
    out = []
    for match in _URL.finditer(text):
        url = match.group(0)
        while url and (
            url[-1] in _TRAILING or (url[-1] == ")" and url.count("(") < url.count(")"))
        ):
            url = url[:-1]
        out.append(Span(match.start(), match.start() + len(url), "link", url))
    return out


def _mentions(text: str) -> list[Span]:
    return [
        Span(m.start(), m.end(), "mention", m.group(1).lower()) for m in _MENTION.finditer(text)
    ]


def _tags(text: str) -> list[Span]:
    return [
        Span(m.start(), m.end(), "tag", m.group(1))
        for m in _TAG.finditer(text)
        if len(m.group(1)) <= MAX_TAG
    ]
