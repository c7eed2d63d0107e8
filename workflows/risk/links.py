"""Link problems: insecure or shortened links, malformed links, unfilled placeholders."""

from __future__ import annotations

import re

from workflows.risk.context import Context
from workflows.risk.models import Finding

SHORTENERS = frozenset(
    {
        "bit.ly",
        "tinyurl.com",
        "goo.gl",
        "ow.ly",
        "is.gd",
        "buff.ly",
        "rebrand.ly",
        "cutt.ly",
        "shorturl.at",
        "tiny.cc",
        "t.ly",
        "rb.gy",
        "lnkd.in",
        "bl.ink",
        "short.io",
        "s.id",
        "v.gd",
        "soo.gd",
        "clck.ru",
        "tiny.one",
        "shorte.st",
        "adf.ly",
        "linktr.ee",
    }
)
# The start of a malformed link; the finding then runs to the end of the word.
_MALFORMED = re.compile(
    r"\bh?t?tps?:/(?!/)|\bhttps?//|\bhttps?:///|\bhttps?;//|\bhtps?://|\bhttps?:\\\\"
    r"|\bhttps?://(?=\s|$)|\bwww,\w|\bwww\.\.|\bhttps?://[^\s/]{0,60}\.\.",
    re.IGNORECASE,
)
_WORD_END = re.compile(r"\S*")
# Bracketed instructions and lorem ipsum in any case; TBD / TODO / XXX only in capitals
# (lower-case "todo" is Spanish and Portuguese for "all").
_PLACEHOLDER = re.compile(
    r"(?i:\[[^\]\n]{0,40}?\b(?:link|url|insert|inserire|inserisci|aggiungi|add|tbd|todo|"
    r"placeholder|qui il|here)\b[^\]\n]{0,40}\])"
    r"|\{\{[^}\n]{0,60}\}\}|(?i:<(?:link|url|insert link|inserire link)>)"
    r"|\b(?:TBD|TBC|TODO|XXX+)\b|(?i:\blorem ipsum\b)"
)


def find(ctx: Context) -> list[Finding]:
    prepared = ctx.prepared
    findings: list[Finding] = []
    text, lower = prepared.text, prepared.lower
    spots = prepared.substring_spots(("[", "{{", "<", "tbd", "tbc", "todo", "xxx", "lorem"))
    for match in prepared.search_near(_PLACEHOLDER, text, spots, before=0, after=100):
        findings.append(
            ctx.finding(
                "link_problem",
                "high",
                match.start(),
                match.end(),
                f"Unfilled placeholder '{match.group()}'. Put in the real link or text before "
                "publishing.",
                "links.placeholder",
            )
        )
    if ":/" in text or "//" in text or ";//" in text or "www" in lower:
        spots = prepared.substring_spots(("tp", "www"))
        for match in prepared.search_near(_MALFORMED, text, spots, before=8, after=80):
            word = _WORD_END.match(text, match.end()).group().rstrip(".,;:!?)»”'\"")
            end = match.end() + len(word)
            excerpt = text[match.start() : end]
            findings.append(
                ctx.finding(
                    "link_problem",
                    "medium",
                    match.start(),
                    end,
                    f"Malformed link '{excerpt}'. Check the address opens before publishing.",
                    "links.malformed",
                )
            )
    malformed = [(f.start, f.end) for f in findings]
    for url in prepared.urls:
        if any(s <= url.start < e for s, e in malformed):
            continue
        host = url.host.removeprefix("www.")
        if host in SHORTENERS:
            findings.append(
                ctx.finding(
                    "link_problem",
                    "low",
                    url.start,
                    url.end,
                    f"Shortened link ({host}) hides where it goes and can break or be "
                    "repointed. Use the full link or the brand's own short domain.",
                    "links.shortener",
                )
            )
        elif url.scheme == "http":
            findings.append(
                ctx.finding(
                    "link_problem",
                    "low",
                    url.start,
                    url.end,
                    "Plain http:// link: browsers mark it 'not secure'. Use https:// if the site "
                    "supports it.",
                    "links.insecure",
                )
            )
    return findings
