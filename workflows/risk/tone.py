"""Tone: shouting, replies that scold customers, and personal posts sent from the brand account."""

from __future__ import annotations

import re

from workflows.risk.context import Context
from workflows.risk.models import Finding

_CAPS_WORD = re.compile(r"\b[^\W\d_a-zà-ÿ]{2,}\b")
_WORD = re.compile(r"\b[^\W\d_]{2,}\b")
_PUNCT_RUN = re.compile(r"[!?¡]{3,}|(?:!\s?){3,}")
_SCOLD = re.compile(
    r"\b(?:as (?:we|i) (?:already|have already|clearly) (?:said|stated|explained|told you)|"
    r"as stated (?:above|before)|did you (?:even )?read|read the (?:faq|instructions|manual|"
    r"description|terms)|(?:it'?s|that'?s) your (?:own )?fault|not our (?:problem|fault)|"
    r"you should have (?:read|checked|known)|calm down|learn to read|"
    r"obviously you didn'?t|"
    r"come gi[aà] (?:detto|scritto|spiegato)|come abbiamo gi[aà] (?:detto|scritto|spiegato)|"
    r"legg(?:i|a|ete) (?:bene )?(?:le|la|il) (?:faq|istruzioni|descrizione|manuale|condizioni)|"
    r"(?:[eè]|la) colpa (?:[eè] )?(?:tua|sua|vostra)|non [eè] (?:un )?(?:nostro problema|"
    r"colpa nostra)|avresti dovuto (?:leggere|controllare|guardare)|dovevi (?:leggere|controllare)|"
    r"si calmi|calmati|"
    r"stia calm[oa]|impar(?:a|i) a leggere|evidentemente non ha(?:i)? letto)\b"
)
_PERSONAL = re.compile(
    r"\b(?:my (?:wife|husband|boyfriend|girlfriend|ex|mom|mum|dad|boss)|i'?m (?:so )?(?:drunk|"
    r"hungover|wasted)|lol my|omg my|date night with|"
    r"mia moglie|mio marito|il mio ragazzo|la mia ragazza|la mia ex|il mio ex|mia madre|"
    r"mio padre|il mio capo|sono (?:ubriac[oa]|sbronz[oa])|postumi della sbornia|"
    r"stasera esco con)\b"
)


# The rarer words of each pattern: the regexes run only near them.
_SCOLD_WORDS = frozenset(
    {
        "already",
        "stated",
        "even",
        "faq",
        "instructions",
        "manual",
        "description",
        "terms",
        "fault",
        "problem",
        "should",
        "calm",
        "learn",
        "obviously",
        "gia",
        "istruzioni",
        "descrizione",
        "manuale",
        "condizioni",
        "colpa",
        "problema",
        "avresti",
        "dovevi",
        "calmi",
        "calmati",
        "calmo",
        "calma",
        "impara",
        "impari",
        "evidentemente",
    }
)
_PERSONAL_WORDS = frozenset(
    {
        "wife",
        "husband",
        "boyfriend",
        "girlfriend",
        "ex",
        "mom",
        "mum",
        "dad",
        "boss",
        "drunk",
        "hungover",
        "wasted",
        "lol",
        "omg",
        "date",
        "moglie",
        "marito",
        "ragazzo",
        "ragazza",
        "madre",
        "padre",
        "capo",
        "ubriaco",
        "ubriaca",
        "sbronzo",
        "sbronza",
        "postumi",
        "esco",
    }
)


def _shouting(ctx: Context) -> list[Finding]:
    prepared = ctx.prepared
    text = prepared.text
    chunks = text.split()
    upper = {c for c in set(chunks) if c.isupper() and len(c) > 1}
    if sum(1 for c in chunks if c in upper) < 3:
        return []
    spots = []
    for chunk in upper:
        at = text.find(chunk)
        while at != -1:
            spots.append(at)
            at = text.find(chunk, at + 1)
    caps = prepared.search_near(_CAPS_WORD, text, spots, before=0, after=40)
    if len(caps) < 3:
        return []
    words = [c for c in chunks if len(c) > 1]
    run: list[re.Match[str]] = []
    best: list[re.Match[str]] = []
    for match in caps:
        if run and _WORD.search(text, run[-1].end(), match.start()):
            run = []
        run.append(match)
        if len(run) > len(best):
            best = run[:]
    ratio = len(caps) / max(len(words), 1)
    if len(best) >= 4 or (len(words) >= 6 and ratio > 0.6):
        start, end = (
            (best[0].start(), best[-1].end())
            if len(best) >= 4
            else (caps[0].start(), caps[-1].end())
        )
        return [
            ctx.finding(
                "shouting_or_tone",
                "medium",
                start,
                end,
                "Long runs of capitals read as shouting. Write in sentence case and keep capitals "
                "for one or two words at most.",
                "tone.all_caps",
            )
        ]
    return []


def find(ctx: Context) -> list[Finding]:
    prepared = ctx.prepared
    findings = _shouting(ctx)
    if any(run in prepared.text for run in ("!!", "??", "?!", "!?", "! !")):
        for match in _PUNCT_RUN.finditer(prepared.text):
            findings.append(
                ctx.finding(
                    "shouting_or_tone",
                    "low",
                    match.start(),
                    match.end(),
                    "Three or more exclamation or question marks read as shouting. One is enough.",
                    "tone.punctuation",
                )
            )
    scolding = prepared.search_near(_SCOLD, prepared.lower, prepared.word_spots(_SCOLD_WORDS))
    for match in scolding:
        findings.append(
            ctx.finding(
                "shouting_or_tone",
                "medium",
                match.start(),
                match.end(),
                f"'{match.group()}' scolds the customer. Answer the question kindly and point to "
                "the help without blame.",
                "tone.scolding",
            )
        )
    personal = prepared.search_near(_PERSONAL, prepared.lower, prepared.word_spots(_PERSONAL_WORDS))
    for match in personal:
        findings.append(
            ctx.finding(
                "shouting_or_tone",
                "low",
                match.start(),
                match.end(),
                f"'{match.group()}' sounds personal, not like the brand. Is this the right "
                "account?",
                "tone.personal",
            )
        )
    return findings
