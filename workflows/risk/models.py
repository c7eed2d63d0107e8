"""What a risk check returns: findings with exact offsets, and the report that sums them up."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["low", "medium", "high"]
ReportSeverity = Literal["none", "low", "medium", "high"]

CATEGORIES: tuple[str, ...] = (
    "profanity",
    "hate_or_harassment",
    "sensitive_event_or_tragedy",
    "hashtag_hijack_risk",
    "legal_or_medical_claim",
    "missing_ad_disclosure",
    "personal_data",
    "platform_length",
    "link_problem",
    "shouting_or_tone",
    "competitor_or_brand_mention",
    "confidential_or_leak",
)

SEVERITY_RANK: dict[str, int] = {"none": 0, "low": 1, "medium": 2, "high": 3}


def at_least(severity: str, level: str) -> bool:
    """True when `severity` is `level` or worse ("none" < "low" < "medium" < "high")."""
    return SEVERITY_RANK[severity] >= SEVERITY_RANK[level]


@dataclass(frozen=True, slots=True)
class Finding:
    """One risky passage. `excerpt` is always `text[start:end]` of the checked text."""

    category: str
    severity: Severity
    start: int
    end: int
    excerpt: str
    message: str
    rule: str

    def to_dict(self) -> dict[str, object]:
        return {
            "category": self.category,
            "severity": self.severity,
            "start": self.start,
            "end": self.end,
            "excerpt": self.excerpt,
            "message": self.message,
            "rule": self.rule,
        }


@dataclass(frozen=True, slots=True)
class RiskReport:
    """All findings of one check, in text order; `severity` is the worst finding's or "none"."""

    findings: tuple[Finding, ...] = field(default_factory=tuple)

    @property
    def severity(self) -> ReportSeverity:
        worst = max((SEVERITY_RANK[f.severity] for f in self.findings), default=0)
        return ("none", "low", "medium", "high")[worst]  # type: ignore[return-value]

    @property
    def categories(self) -> set[str]:
        return {f.category for f in self.findings}

    def to_dict(self) -> dict[str, object]:
        return {"severity": self.severity, "findings": [f.to_dict() for f in self.findings]}
