"""The text prepared once per check and shared by every rule.

`lower` and `folded` have exactly the length of the original text, character for character,
so an offset found in them is an offset in the original: no offset map is needed.
`folded` is lower case without accents.

`vocabulary` is the set of words of the post, read through common disguises: leetspeak
(`sh1t`), separators (`s.h.i.t`, `F U C K`), and codes (`TERREMOTO10` also reads as
`terremoto`). Rules test it with set operations first and only search the text when a word
they care about is there: Python regexes cost about 0.1 ms per 3,000 characters each, set
lookups almost nothing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

_LEET = str.maketrans(
    {
        "0": "o",
        "1": "i",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "@": "a",
        "$": "s",
        "!": "i",
        "|": "i",
    }
)


def _fold_table() -> dict[int, str]:
    """Map accented Latin letters to their base letter, one character to one character."""
    table: dict[int, str] = {}
    for code in range(0xC0, 0x250):
        char = chr(code)
        base = unicodedata.normalize("NFD", char)[0]
        if base != char and base.isascii():
            table[code] = base.lower()
    table[ord("’")] = "'"
    return table


_FOLD = _fold_table()
# str.translate walks a dict for every character of a non-ASCII string (0.4 ms for 3,000
# characters); a regex that stops only at the few accented letters is ten times faster.
_FOLD_CHARS = {chr(code): base for code, base in _FOLD.items()}
_FOLDABLE = re.compile("[" + re.escape("".join(_FOLD_CHARS)) + "]")
_EDGE_PUNCTUATION = ".,;:!?\"'()[]«»“”‘’…"
# A word, with the symbols used to disguise one: "sh!t", "a$$", "f*ck", "b@stard".
_PIECE = re.compile(
    r"(?:[^\W_]|[$!|*](?=[^\W_*$])|(?<=[^\W_])@(?=[^\W_])|(?<=[^\W_])[*$]|(?<=[*$])[*$])+"
)
_CODE = re.compile(r"([^\W\d_]{3,})\d+")
_SPACED = re.compile(r"(?<![^\W_])[a-z]([.\-_ ])[a-z](?:\1[a-z]){2,}(?![^\W_])")
# Single letters that are words or elisions (l'acqua, it's, don't): no sign of s.h.i.t.
_COMMON_SINGLES = frozenset("aeiouldstcynm")
_HASHTAG = re.compile(r"#([^\W_]\w*)")
_MENTION = re.compile(r"@([A-Za-z0-9_]{1,30})")
_TLDS = (
    "com|it|net|org|io|ly|co|eu|me|app|dev|gl|to|cc|us|uk|de|fr|es|ch|info|biz|shop|store|"
    "link|gd|tv|news|ai|so|in|at|be|nl|xyz|site|online|internal|local|corp|lan|test"
)
_TLD_AT = re.compile(r"\.(?:" + _TLDS + r")(?![a-z0-9-])")
_URL = re.compile(
    r"(?:https?://|www\.)[^\s<>\"'{}|\\^`\[\]]+"
    r"|(?<![A-Za-z0-9@$#_./-])(?:[a-z0-9-]+\.)+(?:" + _TLDS + r")\b(?![.@-]\w)(?:/[^\s<>\"']*)?",
    re.IGNORECASE,
)
_URL_TRAILING = ".,;:!?)'\"»”’"
_WORD_CHAR = re.compile(r"[^\W_]")


@dataclass(frozen=True, slots=True)
class Url:
    """A link in the post: `host` is lower case, without port or user info."""

    url: str
    start: int
    end: int
    host: str
    scheme: str


def _lower_same_length(text: str) -> str:
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


class PreparedText:
    """One post, normalised once for all rules."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lower = _lower_same_length(text)
        self.folded = (
            self.lower
            if self.lower.isascii()
            else _FOLDABLE.sub(lambda m: _FOLD_CHARS[m.group()], self.lower)
        )

    @cached_property
    def _words(
        self,
    ) -> tuple[frozenset[str], dict[str, frozenset[str]], tuple[str, ...], tuple[str, ...]]:
        chunks = set(self.folded.split())
        plain = {c for c in chunks if c.isalpha()}
        rest = chunks - plain
        stripped = {c.strip(_EDGE_PUNCTUATION) for c in rest}
        plain |= {c for c in stripped if c.isalpha()}
        aliases: dict[str, set[str]] = {}
        wildcards: list[str] = []
        codes: list[str] = []
        for chunk in stripped:
            if chunk.isalpha() or not chunk:
                continue
            for raw in _PIECE.findall(chunk):
                if raw.isalpha():
                    plain.add(raw)
                elif "*" in raw:
                    wildcards.append(raw)
                else:
                    _alias(raw, aliases, plain)
                    if not raw.isdigit():
                        codes.append(raw)
        singles = {w for w in plain if len(w) == 1}
        if singles - _COMMON_SINGLES:
            for match in _SPACED.finditer(self.folded):
                raw = match.group()
                aliases.setdefault(raw.replace(match.group(1), ""), set()).add(raw)
        frozen = {word: frozenset(raws) for word, raws in aliases.items()}
        return frozenset(plain), frozen, tuple(wildcards), tuple(codes)

    @property
    def vocabulary(self) -> frozenset[str]:
        """The plain words of the post (folded)."""
        return self._words[0]

    @property
    def aliases(self) -> dict[str, frozenset[str]]:
        """Words the post spells in disguise or inside codes, with the spellings used."""
        return self._words[1]

    @property
    def wildcards(self) -> tuple[str, ...]:
        """Words with `*` in them (f*ck, s**t), left for the lexicon to resolve."""
        return self._words[2]

    @property
    def codes(self) -> tuple[str, ...]:
        """Words mixing letters and digits (folded): codes, IDs, leetspeak."""
        return self._words[3]

    def has_any(self, words: frozenset[str]) -> bool:
        """True when the post contains any of `words` (folded), plainly or in disguise."""
        return not words.isdisjoint(self._words[0]) or not words.isdisjoint(self._words[1])

    def locate(self, spelling: str) -> list[tuple[int, int]]:
        """Offsets of `spelling` (as it appears in `folded`) where it stands as a whole word."""
        found = []
        folded = self.folded
        start = folded.find(spelling)
        while start != -1:
            end = start + len(spelling)
            before = start == 0 or not _WORD_CHAR.match(folded, start - 1)
            after = end == len(folded) or not _WORD_CHAR.match(folded, end)
            if before and after:
                found.append((start, end))
            start = folded.find(spelling, start + 1)
        return found

    def word_spots(self, words: frozenset[str]) -> list[int]:
        """Start offsets of each of `words` in the post, plain or disguised."""
        spots = [s for w in words & self.vocabulary for s, _ in self.locate(w)]
        for word in words & self.aliases.keys():
            spots += [s for spelling in self.aliases[word] for s, _ in self.locate(spelling)]
        return spots

    def substring_spots(self, needles: Iterable[str]) -> list[int]:
        """Start offsets of each of `needles` in the lower-case text."""
        spots = []
        for needle in needles:
            at = self.lower.find(needle)
            while at != -1:
                spots.append(at)
                at = self.lower.find(needle, at + 1)
        return spots

    def windows(self, spots: list[int], before: int = 40, after: int = 80) -> list[tuple[int, int]]:
        """Merged (start, end) stretches of text around `spots`, for regexes to search.

        A regex over a whole 3,000-character post costs about 0.1 ms; over the few
        stretches around the words it needs, next to nothing.
        """
        merged: list[tuple[int, int]] = []
        limit = len(self.text)
        for spot in sorted(spots):
            start = spot - before if spot > before else 0
            end = spot + after
            if merged and start <= merged[-1][1]:
                if end > merged[-1][1]:
                    merged[-1] = (merged[-1][0], end if end < limit else limit)
            else:
                merged.append((start, end if end < limit else limit))
        return merged

    def search_near(
        self,
        pattern: re.Pattern[str],
        source: str,
        spots: list[int],
        before: int = 40,
        after: int = 80,
    ) -> list[re.Match[str]]:
        """All matches of `pattern` in `source` (text, lower or folded) near `spots`."""
        return [
            match
            for start, end in self.windows(spots, before, after)
            for match in pattern.finditer(source, start, end)
        ]

    @cached_property
    def hashtags(self) -> list[tuple[str, int, int]]:
        """(tag without '#', start, end) of each hashtag, the '#' included in the span."""
        return self._tagged("#", _HASHTAG, "#&_")

    @cached_property
    def mentions(self) -> list[tuple[str, int, int]]:
        """(handle without '@', start, end) of each mention, the '@' included in the span."""
        return self._tagged("@", _MENTION, "@_.")

    def _tagged(
        self, sigil: str, pattern: re.Pattern[str], glue: str
    ) -> list[tuple[str, int, int]]:
        """Matches of `pattern` that start a word: not right after a letter, a digit or one of
        `glue` (so `a#b`, `&#39;` or `name@mail.it` are not tags)."""
        if sigil not in self.text:
            return []
        text = self.text
        return [
            (m.group(1), m.start(), m.end())
            for m in pattern.finditer(text)
            if m.start() == 0 or not (text[m.start() - 1].isalnum() or text[m.start() - 1] in glue)
        ]

    @cached_property
    def urls(self) -> list[Url]:
        return list(_find_urls(self.text, self.lower))


def _alias(raw: str, aliases: dict[str, set[str]], plain: set[str]) -> None:
    """Record what a word with digits or symbols reads as: sh1t -> shit, MARTA10 -> marta."""
    core = raw.strip("!|")
    if core.isalpha():
        plain.add(core)
        return
    code = _CODE.fullmatch(core)
    if code:
        aliases.setdefault(code.group(1), set()).add(core)
    word = core.translate(_LEET)
    if word.isalpha() and any(c.isalpha() for c in core):
        aliases.setdefault(word, set()).add(core)


def _find_urls(text: str, lower: str) -> Iterable[Url]:
    """Links with a scheme, www. links, and bare domains with a common TLD (acme.it/x)."""
    anchors = [m.start() for m in _TLD_AT.finditer(lower)]
    position = lower.find("www.")
    while position != -1:
        anchors.append(position + 3)
        position = lower.find("www.", position + 1)
    position = lower.find("://")
    while position != -1:
        anchors.append(position)
        position = lower.find("://", position + 1)
    windows: list[tuple[int, int]] = []
    for anchor in sorted(anchors):
        if windows and anchor < windows[-1][1]:
            continue
        start = max(lower.rfind(c, 0, anchor) for c in " \n\t") + 1
        ends = [e for e in (lower.find(c, anchor) for c in " \n\t") if e != -1]
        windows.append((start, min(ends, default=len(lower))))
    for window_start, window_end in windows:
        for match in _URL.finditer(text, window_start, window_end):
            url = match.group().rstrip(_URL_TRAILING)
            if url.count("(") > url.count(")") and match.group()[len(url) :].startswith(")"):
                url += ")"
            scheme, _, rest = url.partition("://") if "://" in url else ("", "", url)
            host = re.split(r"[/?#]", rest, maxsplit=1)[0].rsplit("@", 1)[-1]
            host = host.split(":", 1)[0].lower()
            yield Url(url, match.start(), match.start() + len(url), host, scheme.lower())
