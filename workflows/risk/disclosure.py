"""Advertising disclosure: signs of sponsorship without a clear label where readers see it.

Accepted labels (FTC, UK CAP code, Italian AGCOM and IAP Digital Chart): "Pubblicità",
"Advertising", "AD", "Sponsorizzato da", "Promosso da", "In collaborazione con", "Paid
partnership" at the start of the post, or #ad, #adv, #sponsored, #pubblicità, ... among the
first three hashtags. A label buried at the end still counts as missing. Hashtags that merely
start with "ad" (#adventure, #adidas) are not labels; #sp, #partner, #collab are not clear.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from workflows.risk.context import Context
from workflows.risk.models import Finding
from workflows.risk.text import PreparedText

_LABEL_WORDS = (
    r"advert|advertising|advertisement|sponsored|sponsorizzato|sponsorizzata|"
    r"pubblicit[aà]|paid partnership|partnership a pagamento|paid ad|inserzione a pagamento|"
    r"sponsorizzato da|sponsorizzata da|promosso da|promossa da|sponsored by|"
    r"in collaborazione con|in collaboration with|in partnership with|affiliate link|"
    r"link affiliato|link affiliati"
)
# "Ad" is also an Italian preposition ("Ad ogni passo"): as a word it counts only in capitals
# or followed by a separator ("AD |", "[adv]", "Ad:").
_SHORT_LABEL = r"ADV?|#(?i:adv?)|(?i:adv?)(?=\s*[:|\-–\]\)])"
_LABEL_AT_START = re.compile(rf"[\W_]*?(?:(?i:#?(?:{_LABEL_WORDS}))|{_SHORT_LABEL})(?![\w])")
_LABEL_ANYWHERE = re.compile(rf"(?<![\w#])(?:{_LABEL_WORDS})(?![\w])", re.IGNORECASE)
_LABEL_TAGS = {
    "ad",
    "adv",
    "advertising",
    "sponsored",
    "sponsorizzato",
    "sponsorizzata",
    "pubblicita",
    "inserzioneapagamento",
    "prodottofornitoda",
    "paidpartnership",
    "partnershipapagamento",
    "affiliate",
    "linkaffiliato",
    "advertisement",
}
# Distinctive words of the labels, to find a buried one without scanning the whole post.
_LABEL_KEY_WORDS = frozenset(
    {
        "advert",
        "advertisement",
        "advertising",
        "affiliate",
        "affiliato",
        "affiliati",
        "inserzione",
        "paid",
        "partnership",
        "promossa",
        "promosso",
        "pubblicita",
        "sponsored",
        "sponsorizzato",
        "sponsorizzata",
        "collaborazione",
        "collaboration",
    }
)
_WEAK_TAGS = {"sp", "spon", "partner", "collab", "ambassador", "gifted", "thanks"}


def _words(*words: str) -> Callable[[PreparedText], list[int]]:
    wanted = frozenset(words)
    return lambda prepared: prepared.word_spots(wanted)


# Each signal: what it is, where in the post to look for it (next to the words it needs, the
# links, or the @mentions; nowhere if they are absent), and the pattern.
_SIGNALS: list[tuple[str, Callable[[PreparedText], list[int]], re.Pattern[str]]] = [
    (
        "a personal discount code",
        _words("code", "codice"),
        re.compile(
            r"\b(?:my|our|use my|with my|il mio|col mio|con il mio|usa il mio)\s+"
            r"(?:(?:discount|promo|personal|exclusive)\s+)?(?:code|codice)(?:\s+(?:sconto|promo))?"
        ),
    ),
    (
        "a gifted product",
        _words(
            "gifted",
            "pr",
            "sent",
            "regalato",
            "regalata",
            "regalati",
            "regalate",
            "ricevuto",
            "ricevuta",
            "ricevuti",
            "ricevute",
            "regalo",
            "inviato",
            "mandato",
        ),
        re.compile(
            r"\bgifted\b|\bpr (?:package|box)\b|\bsent (?:me|us) (?:this|these|their|a)\b"
            r"|\bregalat[oaie] da\b|\bricevut[oaie] in regalo\b|\bin regalo da\b"
            r"|\bmi (?:hanno|ha) (?:regalato|inviato|mandato)\b",
        ),
    ),
    (
        "thanks for hospitality",
        _words("hospitality", "having", "ospitalita", "ospite", "ospiti"),
        re.compile(
            r"\bthanks? (?:you )?for (?:the |your )?hospitality\b"
            r"|\bthank you for having (?:me|us)\b"
            r"|\bgrazie (?:per|dell[a']?)\s?(?:l')?ospitalit[aà]\b|\b(?:ospite|ospiti) di @\w+",
        ),
    ),
    (
        "a collaboration",
        _words(
            "collaborazione",
            "collaboration",
            "partnership",
            "sponsored",
            "sponsorizzato",
            "sponsorizzata",
            "promosso",
            "promossa",
            "sp",
            "spon",
            "partner",
            "collab",
            "ambassador",
        ),
        re.compile(
            r"\bin collaborazione con\b|\bin collaboration with\b|\bin partnership with\b"
            r"|\bsponsored by\b|\bsponsorizzat[oa] da\b|\bpromoss[oa] da\b"
            r"|(?:^|\s)#(?:sp|spon|partner|collab|ambassador)\b",
        ),
    ),
    (
        "an affiliate link",
        lambda prepared: [url.start for url in prepared.urls if _maybe_affiliate(url.url)],
        re.compile(
            r"\bamzn\.to/|[?&](?:tag|aff|aff_id|affiliate|ref_id|affid)=|\brstyle\.me/"
            r"|\bshareasale\.com|\bawin1\.com|\bclk\.tradedoubler|\bgo\.skimresources"
            r"|\blinksynergy\.com|\bshopstyle\.it/l/|\bshopmy\.us/",
        ),
    ),
    (
        "a tagged brand with an endorsement",
        lambda prepared: [start for _, start, _ in prepared.mentions],
        re.compile(
            r"@\w+\b.{0,80}?\b(?:obsessed with|my (?:new )?fav(?:ou?rite)?|can'?t live without|"
            r"must[- ]have|i love my|highly recommend|adoro|ve lo consiglio|ve la consiglio|"
            r"vi consiglio|il mio preferito|la mia preferita|non posso pi[uù] farne a meno|"
            r"link in bio)\b"
            r"|\b(?:obsessed with|in love with|innamorat[oa] d[ei]l?l?[oa]?|grazie a|thanks to|"
            r"thank you)\s+@\w+",
            re.DOTALL,
        ),
    ),
]


_AFFILIATE_HINTS = (
    "amzn.to",
    "tag=",
    "aff",
    "ref_id",
    "rstyle.me",
    "shareasale",
    "awin1",
    "tradedoubler",
    "skimresources",
    "linksynergy",
    "shopstyle",
    "shopmy",
)


def _maybe_affiliate(url: str) -> bool:
    lowered = url.lower()
    return any(hint in lowered for hint in _AFFILIATE_HINTS)


def _valid_label(ctx: Context) -> bool:
    if _LABEL_AT_START.match(ctx.prepared.text):
        return True
    return any(
        ctx.prepared.folded[s + 1 : e] in _LABEL_TAGS for _, s, e in ctx.prepared.hashtags[:3]
    )


def _buried_label(ctx: Context) -> tuple[int, int] | None:
    for _, start, end in ctx.prepared.hashtags[3:]:
        if ctx.prepared.folded[start + 1 : end] in _LABEL_TAGS:
            return start, end
    spots = ctx.prepared.word_spots(_LABEL_KEY_WORDS)
    for match in ctx.prepared.search_near(_LABEL_ANYWHERE, ctx.prepared.text, spots, 20, 40):
        return match.start(), match.end()
    return None


def find(ctx: Context) -> list[Finding]:
    text = ctx.prepared.text
    signal = None
    for what, spots_of, pattern in _SIGNALS:
        spots = spots_of(ctx.prepared)
        found = ctx.prepared.search_near(pattern, ctx.prepared.lower, spots, 60, 120)
        if found:
            signal = (what, found[0])
            break
    if signal is None or _valid_label(ctx):
        return []
    what, match = signal
    buried = _buried_label(ctx)
    if buried:
        start, end = buried
        return [
            ctx.finding(
                "missing_ad_disclosure",
                "medium",
                start,
                end,
                f"The post shows {what} ('{match.group().strip()}'), and its ad label "
                f"'{text[start:end]}' is buried. Put 'Pubblicità' / 'AD' at the start or the "
                "label among the first three hashtags.",
                "disclosure.buried_label",
            )
        ]
    weak = [t for t, s, e in ctx.prepared.hashtags if ctx.prepared.folded[s + 1 : e] in _WEAK_TAGS]
    hint = f" #{weak[0]} is not clear enough." if weak else ""
    return [
        ctx.finding(
            "missing_ad_disclosure",
            "medium",
            match.start(),
            match.end(),
            f"The post shows {what} but no advertising label.{hint} Start it with "
            "'Pubblicità' / 'AD' or put #ad / #adv / #pubblicità among the first three hashtags.",
            "disclosure.missing_label",
        )
    ]
