"""The text prepared once per check and shared by every rule.

`lower` and `folded` have exactly the length of the original text, character for character,
so an offset found in them is an offset in the original: no offset map is needed.
`folded` is lower case without accents; word tokens undo leetspeak (`sh1t`), separators
(`s.h.i.t`) and keep `*` wildcards (`f*ck`) for the lexicon to resolve.
"""

from __future__ import annotations

import re
import unicodedata
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
_TOKEN = re.compile(
    r"(?:[^\W_]|[$!|*](?=[^\W_*$])|(?<=[^\W_])@(?=[^\W_])|(?<=[^\W_])[*$]|(?<=[*$])[*$])+"
)
_CODE = re.compile(r"([^\W\d_]{3,})\d+")
_SPACED = re.compile(r"(?<![^\W_])[a-z]([.\-_ ])[a-z](?:\1[a-z]){2,}(?![^\W_])")
_HASHTAG = re.compile(r"(?<![\w#&])#([^\W_][\w]*)")
_MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9_]{1,30})")
_TLDS = (
    "com|it|net|org|io|ly|co|eu|me|app|dev|gl|to|cc|us|uk|de|fr|es|ch|info|biz|shop|store|"
    "link|gd|tv|news|ai|so|in|at|be|nl|xyz|site|online"
)
_URL = re.compile(
    r"(?:https?://|www\.)[^\s<>\"'{}|\\^`\[\]]+"
    r"|(?<![A-Za-z0-9@$#_./-])(?:[a-z0-9-]+\.)+(?:" + _TLDS + r")\b(?![.@-]\w)(?:/[^\s<>\"']*)?",
    re.IGNORECASE,
)
_URL_TRAILING = ".,;:!?)'\"»”’"


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


@dataclass(frozen=True, slots=True)
class Token:
    """A word of the post: `word` is folded and de-obfuscated; start/end index the original."""

    word: str
    start: int
    end: int
    obfuscated: bool = False
    wildcard: bool = False
    # For codes such as "TERREMOTO10": the word before the trailing digits.
    stem: str | None = None


class PreparedText:
    """One post, normalised once for all rules."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lower = _lower_same_length(text)
        self.folded = self.lower.translate(_FOLD)

    @cached_property
    def tokens(self) -> list[Token]:
        tokens: list[Token] = []
        for match in _TOKEN.finditer(self.folded):
            raw = match.group()
            if raw.isalpha():
                tokens.append(Token(raw, match.start(), match.end()))
                continue
            if "*" in raw:
                tokens.append(Token(raw, match.start(), match.end(), True, True))
                continue
            word = raw.strip("!|").translate(_LEET)
            code = _CODE.fullmatch(raw)
            stem = code.group(1) if code else None
            if not any(c.isalpha() for c in raw) or not word.isalpha():
                # Numbers ("455") are never read as words.
                tokens.append(Token(raw, match.start(), match.end(), stem=stem))
                continue
            tokens.append(Token(word, match.start(), match.end(), word != raw, stem=stem))
        for match in _SPACED.finditer(self.folded):
            word = match.group().replace(match.group(1), "")
            tokens.append(Token(word, match.start(), match.end(), True))
        if len(tokens) > 1 and any(t.obfuscated and not t.wildcard for t in tokens):
            tokens.sort(key=lambda t: t.start)
        return tokens

    @cached_property
    def hashtags(self) -> list[tuple[str, int, int]]:
        """(tag without '#', start, end) of each hashtag, the '#' included in the span."""
        return [(m.group(1), m.start(), m.end()) for m in _HASHTAG.finditer(self.text)]

    @cached_property
    def urls(self) -> list[Url]:
        found: list[Url] = []
        if "." not in self.text:
            return found
        for match in _URL.finditer(self.text):
            url = match.group().rstrip(_URL_TRAILING)
            if url.count("(") > url.count(")") and match.group()[len(url) :].startswith(")"):
                url += ")"
            scheme, _, rest = url.partition("://") if "://" in url else ("", "", url)
            host = re.split(r"[/?#]", rest, maxsplit=1)[0].rsplit("@", 1)[-1]
            host = host.split(":", 1)[0].lower()
            found.append(Url(url, match.start(), match.start() + len(url), host, scheme.lower()))
        return found

    @cached_property
    def mentions(self) -> list[tuple[str, int, int]]:
        return [(m.group(1), m.start(), m.end()) for m in _MENTION.finditer(self.text)]
