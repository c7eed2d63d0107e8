"""Risk warnings for social-media drafts, in English and Italian.

Pure, deterministic and offline: `check(text, platform, config)` returns a `RiskReport` whose
findings each say where the risk is, how serious it is, and what to do about it.
"""

from workflows.risk.checker import check
from workflows.risk.config import PLATFORMS, RiskConfig
from workflows.risk.models import CATEGORIES, Finding, RiskReport, at_least

__all__ = ["CATEGORIES", "PLATFORMS", "Finding", "RiskConfig", "RiskReport", "at_least", "check"]
