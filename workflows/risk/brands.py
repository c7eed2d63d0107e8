"""Competitors and other brands named in the config, and the team's banned terms."""

from __future__ import annotations

from workflows.risk.context import Context, fold
from workflows.risk.models import Finding


def find(ctx: Context) -> list[Finding]:
    compiled = ctx.compiled
    folded = ctx.prepared.folded
    findings: list[Finding] = []
    if compiled.competitors is not None and any(n in folded for n in compiled.competitor_names):
        for match in compiled.competitors.finditer(folded):
            findings.append(
                ctx.finding(
                    "competitor_or_brand_mention",
                    "medium",
                    match.start(),
                    match.end(),
                    f"Names a competitor ('{ctx.prepared.text[match.start() : match.end()]}'). "
                    "Check comparisons are fair and provable, or leave them out.",
                    "brands.competitor",
                )
            )
    if compiled.banned is not None and any(n in folded for n in compiled.banned_by_term):
        for match in compiled.banned.finditer(folded):
            key = fold(match.group()).removesuffix("'s")
            banned = compiled.banned_by_term.get(key)
            reason = f" ({banned.reason})" if banned is not None and banned.reason else ""
            category = banned.category if banned is not None else "competitor_or_brand_mention"
            findings.append(
                ctx.finding(
                    category,
                    "high",
                    match.start(),
                    match.end(),
                    f"'{ctx.prepared.text[match.start() : match.end()]}' is on the team's banned "
                    f"list{reason}. Remove it.",
                    "brands.banned_term",
                )
            )
    return findings
