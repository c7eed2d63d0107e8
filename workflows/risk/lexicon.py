"""Curated word lists: loading, inflection, and one-pass matching over the post's tokens.

A lexicon file (YAML, in `lexicons/`) lists entries such as

    - {term: stronzo, severity: high, lang: it, inflect: it}
    - {term: fuck, severity: high, lang: en, prefix: true}
    - {term: che palle, severity: low, lang: it}

Every surface form goes into one dict, so matching costs one lookup per word of the post,
whatever the size of the lexicon. Words match whole (never inside another word); `prefix`
entries also match words that start with them (fucking, fucker), for stems that begin no
everyday word. Obfuscated words (sh1t, s.h.i.t, f*ck) match like the plain ones.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from workflows.risk.text import PreparedText, Token

_SENTENCE_BREAK = re.compile(r"[.!?;:\n]")


@dataclass(frozen=True, slots=True)
class Entry:
    term: str
    severity: str
    lang: str
    note: str = ""
    kind: str = ""


@dataclass(frozen=True, slots=True)
class Hit:
    entry: Entry
    start: int
    end: int
    obfuscated: bool


def _fold(term: str) -> str:
    return PreparedText(term.strip()).folded


def inflections(term: str, rule: str | None) -> set[str]:
    """Surface forms of `term`.

    `it`: Italian gender and number (-o/-a/-i/-e for -o and -a words, -e/-i for -e words),
    `en`: English plural (-s, or -es after s, x, ch, sh).
    """
    forms = {term}
    if rule == "it":
        if term.endswith(("o", "a")):
            stem = term[:-1]
            forms |= {stem + s for s in ("o", "a", "i", "e")}
            if stem.endswith(("c", "g")):
                forms |= {stem + "hi", stem + "he"}
        elif term.endswith("e"):
            forms.add(term[:-1] + "i")
    elif rule == "en":
        forms.add(term + ("es" if term.endswith(("s", "x", "ch", "sh")) else "s"))
    elif rule is not None:
        raise ValueError(f"unknown inflection rule {rule!r} for {term!r}")
    return forms


class Lexicon:
    """Whole-word, prefix and phrase matching of one list of terms."""

    def __init__(self, entries: list[dict[str, Any]]) -> None:
        self.words: dict[str, Entry] = {}
        self.prefixes: dict[str, Entry] = {}
        self.phrases: dict[str, list[tuple[tuple[str, ...], Entry]]] = {}
        for raw in entries:
            entry = Entry(
                term=raw["term"],
                severity=raw.get("severity", "medium"),
                lang=raw.get("lang", ""),
                note=raw.get("note", ""),
                kind=raw.get("kind", ""),
            )
            if entry.severity not in ("low", "medium", "high"):
                raise ValueError(f"bad severity for {entry.term!r}")
            forms = inflections(_fold(entry.term), raw.get("inflect"))
            forms |= {_fold(f) for f in raw.get("forms", [])}
            for form in forms:
                words = tuple(form.split())
                if len(words) > 1:
                    self.phrases.setdefault(words[0], []).append((words, entry))
                elif raw.get("prefix"):
                    self.prefixes[form] = entry
                else:
                    self.words[form] = entry
        self._prefix_lengths = sorted({len(p) for p in self.prefixes}, reverse=True)
        self._by_length: dict[int, list[tuple[str, Entry]]] = {}
        for form, entry in self.words.items():
            self._by_length.setdefault(len(form), []).append((form, entry))

    def add(self, term: str, severity: str, note: str = "") -> None:
        """Add a term at run time (the team's own lists from the config)."""
        entry = Entry(term=term, severity=severity, lang="", note=note)
        words = tuple(_fold(term).split())
        if len(words) > 1:
            self.phrases.setdefault(words[0], []).append((words, entry))
        elif words:
            self.words[words[0]] = entry

    def _word(self, token: Token) -> Entry | None:
        word = token.word
        if token.wildcard:
            return self._wildcard(word)
        entry = self.words.get(word) or (token.stem and self.words.get(token.stem))
        if entry:
            return entry
        for length in self._prefix_lengths:
            if len(word) >= length and word[:length] in self.prefixes:
                return self.prefixes[word[:length]]
        return None

    def _wildcard(self, word: str) -> Entry | None:
        """Resolve `f*ck`, `f**k`, `sh*t`: one unambiguous form with the visible letters."""
        if not word[0].isalpha() or sum(c.isalpha() for c in word) < 1:
            return None
        pattern = re.compile(re.escape(word).replace(r"\*", "[a-z]") + r"\Z")
        found = {e for f, e in self._by_length.get(len(word), []) if pattern.match(f)}
        for prefix, entry in self.prefixes.items():
            if len(word) >= len(prefix) and pattern.match(prefix + word[len(prefix) :]):
                found.add(entry)
        return found.pop() if len(found) == 1 else None

    def find(self, prepared: PreparedText) -> list[Hit]:
        tokens = prepared.tokens
        hits: list[Hit] = []
        covered = -1  # end offset of the last phrase hit: its words are not matched again
        for i, token in enumerate(tokens):
            if token.start < covered:
                continue
            if self.phrases and token.word in self.phrases:
                phrase_hit = self._phrase(prepared, tokens, i)
                if phrase_hit is not None:
                    hits.append(phrase_hit)
                    covered = phrase_hit.end
                    continue
            entry = self._word(token)
            if entry is not None:
                hits.append(Hit(entry, token.start, token.end, token.obfuscated))
        return hits

    def _phrase(self, prepared: PreparedText, tokens: list[Token], i: int) -> Hit | None:
        for words, entry in self.phrases[tokens[i].word]:
            end = i + len(words)
            if end > len(tokens):
                continue
            window = tokens[i:end]
            if tuple(t.word for t in window) != words:
                continue
            gaps_ok = all(
                b.start - a.end <= 3 and not _SENTENCE_BREAK.search(prepared.text, a.end, b.start)
                for a, b in itertools.pairwise(window)
            )
            if gaps_ok:
                return Hit(entry, window[0].start, window[-1].end, False)
        return None


@cache
def load(name: str) -> Lexicon:
    """Load `lexicons/<name>.yaml` from the installed package (cached)."""
    source = resources.files("workflows.risk").joinpath("lexicons").joinpath(f"{name}.yaml")
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    return Lexicon(data["terms"])
