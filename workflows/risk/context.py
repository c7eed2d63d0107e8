"""What every rule receives besides the text: the config, compiled once, the platform, the day."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from workflows.risk.config import BannedTerm, RiskConfig, SensitiveTerm
from workflows.risk.lexicon import Lexicon
from workflows.risk.models import Finding, Severity
from workflows.risk.text import PreparedText


def fold(term: str) -> str:
    """Lower case without accents, as rules compare words."""
    return PreparedText(term).folded


def term_pattern(terms: list[str], tagged: bool = False) -> re.Pattern[str] | None:
    """One regex for whole-word matches of `terms` in folded text.

    With `tagged`, @handles and #hashtags that start with a term match too (@NikeItalia).
    """
    if not terms:
        return None
    body = "|".join(re.escape(fold(t)) for t in sorted(terms, key=len, reverse=True))
    tag = rf"|[@#](?:{body})\w*" if tagged else ""
    return re.compile(rf"(?<![\w@#])(?:{body})(?:'s)?(?!\w){tag}")


@dataclass(frozen=True)
class CompiledConfig:
    config: RiskConfig
    competitors: re.Pattern[str] | None
    competitor_names: tuple[str, ...]
    allow: re.Pattern[str] | None
    allow_names: tuple[str, ...]
    banned: re.Pattern[str] | None
    banned_by_term: dict[str, BannedTerm]
    sensitive: Lexicon
    sensitive_by_term: dict[str, list[SensitiveTerm]]


@lru_cache(maxsize=64)
def _compile(config_json: str) -> CompiledConfig:
    config = RiskConfig.model_validate_json(config_json)
    sensitive = Lexicon([])
    by_term: dict[str, list[SensitiveTerm]] = {}
    for item in config.sensitive_terms:
        term = item.term.lstrip("#")
        sensitive.add(term, "medium")
        by_term.setdefault(term, []).append(item)
    return CompiledConfig(
        config=config,
        competitors=term_pattern(config.competitors, tagged=True),
        competitor_names=tuple(fold(c) for c in config.competitors),
        allow=term_pattern(config.allow_terms),
        allow_names=tuple(fold(t) for t in config.allow_terms),
        banned=term_pattern([b.term for b in config.banned_terms]),
        banned_by_term={fold(b.term): b for b in config.banned_terms},
        sensitive=sensitive,
        sensitive_by_term=by_term,
    )


def compile_config(config: RiskConfig) -> CompiledConfig:
    """Compile the config's term lists once per distinct config (cached by content)."""
    return _compile(config.model_dump_json())


@dataclass(frozen=True)
class Context:
    prepared: PreparedText
    compiled: CompiledConfig
    platform: str | None
    today: date

    @property
    def config(self) -> RiskConfig:
        return self.compiled.config

    def finding(
        self, category: str, severity: Severity, start: int, end: int, message: str, rule: str
    ) -> Finding:
        text = self.prepared.text
        return Finding(category, severity, start, end, text[start:end], message, rule)
