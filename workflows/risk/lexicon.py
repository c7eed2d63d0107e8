"""Curated word lists: loading, inflection, and matching against the post's vocabulary.

A lexicon file (YAML, in `lexicons/`) lists entries such as

    - {term: stronzo, severity: high, lang: it, inflect: it}
    - {term: fuck, severity: high, lang: en, prefix: true}
    - {term: che palle, severity: low, lang: it}

Every surface form goes into one dict, and matching starts from a set intersection with
the post's words, whatever the size of the lexicon; only the words found are then located.
Words match whole (never inside another word); `prefix` entries also match words that start
with them (fucking, fucker), for stems that begin no everyday word. Disguised words (sh1t,
s.h.i.t, f*ck) match like the plain ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from workflows.risk.text import PreparedText

_ENTRY_KEYS = frozenset(
    {"term", "severity", "lang", "inflect", "forms", "prefix", "kind", "abbreviation"}
)


@dataclass(frozen=True, slots=True)
class Entry:
    term: str
    severity: str
    kind: str = ""
    # Also a capitalised abbreviation when a dot follows ("Ass. Sportiva" = Associazione).
    abbreviation: bool = False


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
        self.phrases: list[tuple[frozenset[str], re.Pattern[str], Entry]] = []
        for raw in entries:
            unknown = set(raw) - _ENTRY_KEYS
            if unknown:
                raise ValueError(f"unknown keys {sorted(unknown)} in lexicon entry {raw!r}")
            entry = Entry(
                term=raw["term"],
                severity=raw.get("severity", "medium"),
                kind=raw.get("kind", ""),
                abbreviation=bool(raw.get("abbreviation")),
            )
            if entry.severity not in ("low", "medium", "high"):
                raise ValueError(f"bad severity for {entry.term!r}")
            forms = inflections(_fold(entry.term), raw.get("inflect"))
            forms |= {_fold(f) for f in raw.get("forms", [])}
            for form in forms:
                self._add_form(form, entry, prefix=bool(raw.get("prefix")))
        self._prefix_tuple = tuple(self.prefixes)
        self._forms = frozenset(self.words)
        self._hidden: re.Pattern[str] | None = None
        self._by_length: dict[int, list[tuple[str, Entry]]] = {}
        for form, entry in self.words.items():
            self._by_length.setdefault(len(form), []).append((form, entry))

    def _add_form(self, form: str, entry: Entry, prefix: bool = False) -> None:
        words = form.split()
        if len(words) > 1:
            gap = r"[^\w.!?;:\n]{1,3}"
            body = gap.join(re.escape(w) for w in words)
            pattern = re.compile(rf"(?<![^\W_]){body}(?![^\W_])")
            self.phrases.append((frozenset(words), pattern, entry))
        elif prefix:
            self.prefixes[form] = entry
        elif words:
            self.words[form] = entry

    def add(self, term: str, severity: str) -> None:
        """Add a term at run time (the team's own lists from the config)."""
        entry = Entry(term=term, severity=severity)
        form = _fold(term)
        self._add_form(form, entry)
        if form in self.words:
            self._by_length.setdefault(len(form), []).append((form, entry))
            self._forms = frozenset(self.words)

    def _wildcard(self, word: str) -> Entry | None:
        """Resolve `f*ck`, `f**k`, `sh*t`: one unambiguous form with the visible letters."""
        if not word[0].isalpha():
            return None
        pattern = re.compile(re.escape(word).replace(r"\*", "[a-z]") + r"\Z")
        found = {e for f, e in self._by_length.get(len(word), []) if pattern.match(f)}
        for prefix, entry in self.prefixes.items():
            if len(word) >= len(prefix) and pattern.match(prefix + word[len(prefix) :]):
                found.add(entry)
        return found.pop() if len(found) == 1 else None

    def find(self, prepared: PreparedText) -> list[Hit]:
        """Every whole-word occurrence of the lexicon's terms, in text order."""
        vocabulary, aliases = prepared.vocabulary, prepared.aliases
        hits: list[Hit] = []
        for words, pattern, entry in self.phrases:
            if words <= vocabulary:
                hits.extend(
                    Hit(entry, m.start(), m.end(), False) for m in pattern.finditer(prepared.folded)
                )
        covered = [(h.start, h.end) for h in hits]

        def add(entry: Entry, spelling: str, obfuscated: bool) -> None:
            for start, end in prepared.locate(spelling):
                if (
                    entry.abbreviation
                    and prepared.text[start].isupper()
                    and prepared.text.startswith(".", end)
                ):
                    continue
                if not any(s <= start < e for s, e in covered):
                    hits.append(Hit(entry, start, end, obfuscated))

        for word in vocabulary & self._forms:
            add(self.words[word], word, False)
        for word in aliases.keys() & self._forms:
            for spelling in aliases[word]:
                add(self.words[word], spelling, True)
        if self._prefix_tuple and any(p in prepared.folded for p in self._prefix_tuple):
            for word in vocabulary:
                if word.startswith(self._prefix_tuple) and word not in self.words:
                    add(self._prefix_entry(word), word, False)
        if self._prefix_tuple:
            for word, spellings in aliases.items():
                if word.startswith(self._prefix_tuple) and word not in self.words:
                    for spelling in spellings:
                        add(self._prefix_entry(word), spelling, True)
        for spelling in prepared.wildcards:
            entry = self._wildcard(spelling)
            if entry is not None:
                add(entry, spelling, True)
        hits.sort(key=lambda h: h.start)
        return hits

    def hidden_in(self, word: str) -> str | None:
        """A high-severity term (4+ letters) that `word`, a glued hashtag, contains but is not."""
        if word in self.words or (self._prefix_tuple and word.startswith(self._prefix_tuple)):
            return None
        if self._hidden is None:
            forms = [
                f
                for f, e in (*self.words.items(), *self.prefixes.items())
                if e.severity == "high" and len(f) >= 4
            ]
            body = "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
            self._hidden = re.compile(body or r"(?!)")
        match = self._hidden.search(word)
        return match.group() if match else None

    def _prefix_entry(self, word: str) -> Entry:
        return next(e for p, e in self.prefixes.items() if word.startswith(p))


@cache
def load(name: str) -> Lexicon:
    """Load `lexicons/<name>.yaml` from the installed package (cached)."""
    source = resources.files("workflows.risk").joinpath("lexicons").joinpath(f"{name}.yaml")
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    return Lexicon(data["terms"])
