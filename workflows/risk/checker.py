"""`check()`: run every rule on a draft and collect the findings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

from workflows.risk import (
    brands,
    claims,
    confidential,
    disclosure,
    hashtags,
    length,
    links,
    personal_data,
    profanity,
    tone,
    tragedy,
)
from workflows.risk.config import PLATFORMS, RiskConfig
from workflows.risk.context import Context, compile_config
from workflows.risk.models import SEVERITY_RANK, Finding, RiskReport
from workflows.risk.text import PreparedText

_RULES: tuple[Callable[[Context], list[Finding]], ...] = (
    profanity.find,
    tragedy.find,
    hashtags.find,
    claims.find,
    disclosure.find,
    personal_data.find,
    length.find,
    links.find,
    confidential.find,
    tone.find,
    brands.find,
)
_DEFAULT = RiskConfig()


def check(
    text: str,
    platform: str | None = None,
    config: RiskConfig | None = None,
    *,
    today: date | None = None,
) -> RiskReport:
    """Check a draft; `platform` selects the length rules, `today` dates `sensitive_terms`.

    The result depends only on the arguments (and on today's date when `today` is omitted and
    the config has dated sensitive terms).
    """
    if platform is not None and platform not in PLATFORMS:
        raise ValueError(f"unknown platform {platform!r}; use one of {', '.join(PLATFORMS)}")
    compiled = compile_config(config or _DEFAULT)
    ctx = Context(
        prepared=PreparedText(text),
        compiled=compiled,
        platform=platform,
        today=today or datetime.now(UTC).date(),
    )
    findings: list[Finding] = []
    for rule in _RULES:
        findings.extend(rule(ctx))
    folded = ctx.prepared.folded
    if compiled.allow is not None and any(n in folded for n in compiled.allow_names):
        # Never flagged: a finding inside an allowed term, or whose words contain one
        # (allowing "Scunthorpe" also clears #Scunthorpe10k).
        allowed = [(m.start(), m.end()) for m in compiled.allow.finditer(folded)]
        findings = [
            f
            for f in findings
            if f.category == "platform_length"
            or not (
                any(s <= f.start and f.end <= e for s, e in allowed)
                or any(n in folded[f.start : f.end] for n in compiled.allow_names)
            )
        ]
    unique = {(f.category, f.rule, f.start, f.end): f for f in findings}
    ordered = sorted(
        unique.values(), key=lambda f: (f.start, -SEVERITY_RANK[f.severity], f.category)
    )
    return RiskReport(findings=tuple(ordered))
