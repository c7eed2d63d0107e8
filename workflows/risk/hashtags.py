"""Hashtags that invite hijacking, belong to a cause or a tragedy, or read as something else.

No list can say what a hashtag means today; these rules pick the kinds that went wrong for
brands before (#AskX Q&A campaigns, "share your story" tags, causes used for marketing,
glued words that spell something rude, as #susanalbumparty did) and ask the author to look
the hashtag up before posting.
"""

from __future__ import annotations

import re

from workflows.risk.context import Context
from workflows.risk.lexicon import load
from workflows.risk.models import Finding

_CAMPAIGN = re.compile(
    r"(?:ask|tell|share|showus|chiedi|chiedia|racconta|raccontaci|condividi|mostraci|whyi)"
    r"[a-z]{3,}"
    r"|[a-z]{3,}(?:story|stories|memories|moments|challenge|storie|ricordi|sfida|momenti)",
)
_CAMPAIGN_CAMEL = re.compile(r"(?:My|IlMio|LaMia|IMiei|LeMie)[A-Z]")
_CAUSE = re.compile(
    r"prayfor\w+|jesuis\w+|metoo|blacklivesmatter|blm|stopasianhate|whyistayed|notallmen|"
    r"neverforget|istandwith\w+|bringbackour\w+|nonunadimeno|quellavoltache|iostoconlei|"
    r"restiamoacasa|andratuttobene|blackouttuesday|allivesmatter"
)


def find(ctx: Context) -> list[Finding]:
    findings: list[Finding] = []
    hidden_words: dict[str, str | None] = {}
    for tag, start, end in ctx.prepared.hashtags:
        folded = ctx.prepared.folded[start + 1 : end]
        if folded not in hidden_words:
            hidden_words[folded] = _hidden_word(folded)
        hidden = hidden_words[folded]
        if _CAUSE.fullmatch(folded):
            findings.append(
                ctx.finding(
                    "hashtag_hijack_risk",
                    "medium",
                    start,
                    end,
                    f"#{tag} belongs to a cause or a tragedy. Using it for a brand message "
                    "reads as hijacking; use it only if the post is about that cause.",
                    "hashtags.cause",
                )
            )
        elif hidden:
            findings.append(
                ctx.finding(
                    "hashtag_hijack_risk",
                    "low",
                    start,
                    end,
                    f"#{tag} can be read as containing '{hidden}'. Read it in lower case as "
                    "strangers will, and pick another tag if it reads badly.",
                    "hashtags.hidden_word",
                )
            )
        elif _CAMPAIGN.fullmatch(folded) or _CAMPAIGN_CAMEL.match(tag):
            findings.append(
                ctx.finding(
                    "hashtag_hijack_risk",
                    "low",
                    start,
                    end,
                    f"#{tag} invites the public to fill it in. Search it now to see what it is "
                    "used for, and plan for replies you do not control.",
                    "hashtags.campaign",
                )
            )
    return findings


def _hidden_word(tag: str) -> str | None:
    for name in ("profanity", "hate"):
        hidden = load(name).hidden_in(tag)
        if hidden:
            return hidden
    return None
