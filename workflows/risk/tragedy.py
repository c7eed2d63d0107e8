"""Tragedy, disaster and crisis language, alone or next to promotion.

Promotion next to a tragedy reads as profiting from it: high. A tragedy mentioned without
promotion (a condolence message, a store closed by a flood) only asks for care: low.
The team's own `sensitive_terms` (an ongoing local crisis) are medium, high next to promotion.
"""

from __future__ import annotations

import re

from workflows.risk.context import Context
from workflows.risk.lexicon import Hit, load
from workflows.risk.models import Finding

_PERCENT_OFF = re.compile(r"\d+\s?%\s?(?:off|di sconto|sconto|in meno)\b|-\d+\s?%")
_RIP = re.compile(r"\bR\.?I\.?P\.?(?!\w)")
_DATE_WORDS = frozenset({"settembre", "september"})
_DATES = re.compile(r"\b9/11\b|\b11 settembre 2001\b|\bseptember 11(?:th)?,? 2001\b")


def _promo(ctx: Context) -> str | None:
    """The first promotional phrase of the post, if any."""
    hits = load("promo").find(ctx.prepared)
    if hits:
        return ctx.prepared.text[hits[0].start : hits[0].end]
    if "%" not in ctx.prepared.text:
        return None
    match = _PERCENT_OFF.search(ctx.prepared.lower)
    return match.group() if match else None


def find(ctx: Context) -> list[Finding]:
    prepared = ctx.prepared
    hits: list[Hit] = load("tragedy").find(prepared)
    extra = []
    if "RIP" in prepared.text or "R.I.P" in prepared.text:
        extra += [(m.start(), m.end()) for m in _RIP.finditer(prepared.text)]
    if "9/11" in prepared.text or prepared.has_any(_DATE_WORDS):
        extra += [(m.start(), m.end()) for m in _DATES.finditer(prepared.lower)]
    own = [
        (hit, item)
        for hit in ctx.compiled.sensitive.find(prepared)
        for item in ctx.compiled.sensitive_by_term.get(hit.entry.term, [])
        if item.active_on(ctx.today)
    ]
    if not hits and not extra and not own:
        return []
    promo = _promo(ctx)
    findings: list[Finding] = []
    seen: set[str] = set()
    for hit in hits:
        if hit.entry.term in seen:
            continue
        seen.add(hit.entry.term)
        findings.append(_finding(ctx, hit.start, hit.end, promo, hit.entry.kind == "condolence"))
    for start, end in extra:
        findings.append(_finding(ctx, start, end, promo, True))
    for hit, item in own:
        excerpt = prepared.text[hit.start : hit.end]
        why = f" ({item.note})" if item.note else ""
        if promo:
            message = (
                f"'{excerpt}' is on the team's sensitive list{why}, and the post also promotes "
                f"('{promo}'). Drop the promotion or hold the post."
            )
            severity = "high"
        else:
            message = (
                f"'{excerpt}' is on the team's sensitive list{why}. Check the tone and "
                "whether to publish now at all."
            )
            severity = "medium"
        findings.append(
            ctx.finding(
                "sensitive_event_or_tragedy",
                severity,
                hit.start,
                hit.end,
                message,
                "tragedy.team_sensitive_term",
            )
        )
    return findings


def _finding(ctx: Context, start: int, end: int, promo: str | None, condolence: bool) -> Finding:
    excerpt = ctx.prepared.text[start:end]
    if promo:
        return ctx.finding(
            "sensitive_event_or_tragedy",
            "high",
            start,
            end,
            f"Tragedy or crisis ('{excerpt}') next to promotion ('{promo}') reads as profiting "
            "from it. Remove the promotion, or do not publish.",
            "tragedy.with_promotion",
        )
    rule = "tragedy.condolence" if condolence else "tragedy.mention"
    return ctx.finding(
        "sensitive_event_or_tragedy",
        "low",
        start,
        end,
        f"Mentions a tragedy or crisis ('{excerpt}'). Keep the tone respectful and add no "
        "promotion, jokes or product links.",
        rule,
    )
