"""Length per platform, counted the way each platform counts.

X counts a weighted length (twitter-text v3): every link 23, each emoji 2, letters of CJK and
other heavy scripts 2, Latin, Greek, Cyrillic, Hebrew, Arabic, Indic and general punctuation
1, text NFC-normalised. Bluesky counts graphemes (what a reader sees as one character) and
at most 3000 UTF-8 bytes. Mastodon counts links as 23. The others count characters.
The finding's span is the part past the limit, so the author sees what to cut.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

import regex

from workflows.risk.context import Context
from workflows.risk.models import Finding
from workflows.risk.text import PreparedText

X_URL_WEIGHT = 23  # X and Mastodon count every link as 23 characters
_NAMES = {
    "threads": "Threads",
    "linkedin": "LinkedIn",
    "instagram": "Instagram",
    "facebook": "Facebook",
}
# Code points that X counts as 1 (twitter-text v3 "ranges"); everything else counts 2.
_LIGHT = "\u0000-\u10ff\u2000-\u200d\u2010-\u201f\u2032-\u2037"
_ALL_LIGHT = re.compile(rf"[{_LIGHT}]*\Z")
_GRAPHEME = regex.compile(r"\X")
# A grapheme cluster that X counts as one emoji (weight 2 whatever its code points).
_EMOJI_CLUSTER = regex.compile(
    r"(?=\p{Extended_Pictographic}|\p{Regional_Indicator}|[#*0-9]\ufe0f?\u20e3)\X"
)
_HEAVY = re.compile(rf"[^{_LIGHT}]")

Segments = list[tuple[int, int, int]]


# Where a segment other than a plain run of light characters can start: a heavy character,
# or a light one that begins an emoji (©, ®, keycaps such as 1️⃣).
_SPECIAL = regex.compile(rf"[^{_LIGHT}]|[\u00a9\u00ae]|[#*0-9](?=\ufe0f|\u20e3)")


def _x_segments(text: str) -> Segments:
    """(start, end, weight) segments of `text` as X counts them, emoji as units."""
    segments: Segments = []
    position = 0
    for special in _SPECIAL.finditer(text):
        at = special.start()
        if at < position:
            continue
        if at > position:
            segments.append((position, at, at - position))
        emoji = _EMOJI_CLUSTER.match(text, at)
        if emoji:
            segments.append((at, emoji.end(), 2))
            position = emoji.end()
        else:
            weight = 2 if _HEAVY.match(text, at) else 1
            segments.append((at, at + 1, weight))
            position = at + 1
    if position < len(text):
        segments.append((position, len(text), len(text) - position))
    return segments


def _x_total(text: str) -> int:
    """Same total as summing `_x_segments`, without a Python loop over every character."""
    if _ALL_LIGHT.match(text):
        return len(text)
    total = len(text) + len(_HEAVY.findall(text))
    for cluster in _EMOJI_CLUSTER.findall(text):
        total += 2 - len(cluster) - len(_HEAVY.findall(cluster))
    return total


def x_weighted_length(text: str, url_spans: list[tuple[int, int]]) -> int:
    """The weighted length X shows for `text` (already NFC, URLs at `url_spans`)."""
    return _overflow(text, url_spans, None, _x_total, _x_segments)[0]


def _char_segments(piece: str) -> Segments:
    return [(0, len(piece), len(piece))]


# Code points that may join a grapheme cluster with a neighbour: CR and everything above
# Latin Extended-B (combining marks, ZWJ, emoji and their modifiers, regional indicators,
# Hangul jamo, Indic marks...). Below that, one code point is one grapheme, so only the
# stretches around these need segmenting.
_MAYBE_JOINING = re.compile(r"[^\x00-\x0c\x0e-\u02ff]+")


def _joining_stretches(piece: str) -> list[tuple[int, int]]:
    """Stretches around joining code points (one neighbour each side), merged."""
    stretches: list[tuple[int, int]] = []
    for match in _MAYBE_JOINING.finditer(piece):
        start, end = max(0, match.start() - 1), min(len(piece), match.end() + 1)
        if stretches and start <= stretches[-1][1]:
            stretches[-1] = (stretches[-1][0], max(end, stretches[-1][1]))
        else:
            stretches.append((start, end))
    return stretches


def _grapheme_total(piece: str) -> int:
    """Number of graphemes; only the stretches around joining code points are segmented."""
    total = len(piece)
    for start, end in _joining_stretches(piece):
        total -= (end - start) - len(_GRAPHEME.findall(piece, start, end))
    return total


def _grapheme_segments(piece: str) -> Segments:
    """Plain stretches as one segment each, graphemes one by one around joining code points."""
    segments: Segments = []
    position = 0
    for start, end in _joining_stretches(piece):
        if start > position:
            segments.append((position, start, start - position))
        segments += [(m.start(), m.end(), 1) for m in _GRAPHEME.finditer(piece, start, end)]
        position = end
    if position < len(piece):
        segments.append((position, len(piece), len(piece) - position))
    return segments


def _overflow(
    text: str,
    url_spans: list[tuple[int, int]],
    limit: int | None,
    total_of: Callable[[str], int],
    segments_of: Callable[[str], Segments],
    url_weight: int = X_URL_WEIGHT,
) -> tuple[int, int | None]:
    """Total weight, and the offset where the running weight first exceeds `limit`.

    Only the piece where the limit is crossed is split into segments.
    """
    total = 0
    cut: int | None = None
    position = 0
    pieces: list[tuple[int, int, int | None]] = []
    for start, end in url_spans:
        pieces.append((position, start, None))
        pieces.append((start, end, url_weight))
        position = end
    pieces.append((position, len(text), None))
    for start, end, fixed in pieces:
        if start >= end:
            continue
        weight = fixed if fixed is not None else total_of(text[start:end])
        if limit is not None and cut is None and total + weight > limit:
            if fixed is not None:
                cut = start
            else:
                cut = start + _cut_in(text[start:end], limit - total, segments_of)
        total += weight
    return total, cut


def _cut_in(piece: str, room: int, segments_of: Callable[[str], Segments]) -> int:
    """Offset in `piece` where its weight first exceeds `room`.

    Segments only a prefix (doubling it as needed), so a 3,000-character post costs no more
    than a short one; a cut close to the prefix's end is retried, since the prefix may split
    an emoji or a grapheme there.
    """
    size = max(64, 2 * room + 32)
    while True:
        prefix = piece[:size]
        running = 0
        for seg_start, seg_end, seg_weight in segments_of(prefix):
            if running + seg_weight > room:
                if size >= len(piece) or seg_end <= len(prefix) - 16:
                    plain = seg_end - seg_start == seg_weight and seg_weight > 1
                    return seg_start + (room - running if plain else 0)
                break
            running += seg_weight
        if size >= len(piece):
            return len(piece)
        size *= 2


def find(ctx: Context) -> list[Finding]:
    platform = ctx.platform
    if platform is None:
        return []
    prepared = ctx.prepared
    limits = ctx.config.limits
    findings: list[Finding] = []
    text = prepared.text
    limit: int = getattr(limits, platform)
    if platform == "x":
        normalised = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
        counted = prepared if normalised == text else PreparedText(normalised)
        spans = [(u.start, u.end) for u in counted.urls]
        if 2 * len(normalised) + X_URL_WEIGHT * len(spans) > limit:  # else surely short enough
            total, cut = _overflow(normalised, spans, limit, _x_total, _x_segments)
            if total > limit and counted is not prepared:
                cut = max(0, len(text) - (total - limit))
            unit = "weighted characters (links count 23, emoji 2)"
            _add_over(ctx, findings, "X", total, limit, cut, unit, "length.x_weighted")
    elif platform == "bluesky":
        if len(text) > limit:
            total, cut = _overflow(text, [], limit, _grapheme_total, _grapheme_segments)
            _add_over(
                ctx, findings, "Bluesky", total, limit, cut, "graphemes", "length.bluesky_graphemes"
            )
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > limits.bluesky_bytes:
            raw = text.encode("utf-8", "surrogatepass")
            cut = len(raw[: limits.bluesky_bytes].decode("utf-8", "ignore"))
            _add_over(
                ctx,
                findings,
                "Bluesky",
                size,
                limits.bluesky_bytes,
                cut,
                "bytes",
                "length.bluesky_bytes",
            )
    elif platform == "mastodon":
        spans = [(u.start, u.end) for u in prepared.urls if u.scheme]
        if len(text) + X_URL_WEIGHT * len(spans) > limit:
            total, cut = _overflow(text, spans, limit, len, _char_segments)
            _add_over(
                ctx,
                findings,
                "Mastodon",
                total,
                limit,
                cut,
                "characters (links count 23)",
                "length.mastodon",
            )
    elif len(text) > limit:
        _add_over(
            ctx,
            findings,
            _NAMES[platform],
            len(text),
            limit,
            limit,
            "characters",
            f"length.{platform}",
        )
    if platform == "instagram":
        tags = prepared.hashtags
        if len(tags) > limits.instagram_hashtags:
            first_extra = tags[limits.instagram_hashtags]
            findings.append(
                ctx.finding(
                    "platform_length",
                    "medium",
                    first_extra[1],
                    tags[-1][2],
                    f"{len(tags)} hashtags; Instagram allows {limits.instagram_hashtags}. "
                    "Keep the ones that matter most.",
                    "length.instagram_hashtags",
                )
            )
    if platform == "threads" and len(prepared.urls) > limits.threads_links:
        urls = prepared.urls
        findings.append(
            ctx.finding(
                "platform_length",
                "medium",
                urls[limits.threads_links].start,
                urls[-1].end,
                f"{len(urls)} links; Threads allows {limits.threads_links} per post.",
                "length.threads_links",
            )
        )
    return findings


def _add_over(
    ctx: Context,
    findings: list[Finding],
    name: str,
    total: int,
    limit: int,
    cut: int | None,
    unit: str,
    rule: str,
) -> None:
    if total <= limit:
        return
    start = min(cut if cut is not None else limit, len(ctx.prepared.text))
    findings.append(
        ctx.finding(
            "platform_length",
            "high",
            start,
            len(ctx.prepared.text),
            f"Too long for {name}: {total} of {limit} {unit}. Cut {total - limit}; the "
            "highlighted part is past the limit.",
            rule,
        )
    )
