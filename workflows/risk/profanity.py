"""Profanity and slurs, from the curated lexicons in `lexicons/`."""

from __future__ import annotations

from workflows.risk.context import Context
from workflows.risk.lexicon import load
from workflows.risk.models import Finding

_ADVICE = {
    "high": "Remove it: this is never acceptable from a brand account.",
    "medium": "Reword unless the brand voice really allows it.",
    "low": "Mild, but check it fits the brand voice.",
}


def find(ctx: Context) -> list[Finding]:
    findings: list[Finding] = []
    for name, category, what in (
        ("profanity", "profanity", "Profanity"),
        ("hate", "hate_or_harassment", "Slur or insult"),
    ):
        for hit in load(name).find(ctx.prepared):
            disguised = " (disguised spelling)" if hit.obfuscated else ""
            message = f"{what}{disguised}: '{hit.entry.term}'. {_ADVICE[hit.entry.severity]}"
            rule = f"{name}.{'obfuscated' if hit.obfuscated else 'lexicon'}"
            findings.append(
                ctx.finding(category, hit.entry.severity, hit.start, hit.end, message, rule)
            )
    return findings
