"""Risk levels, shared by the risk checker, step conditions and the engine."""

from __future__ import annotations

from typing import Literal

Severity = Literal["low", "medium", "high"]
RiskLevel = Literal["none", "low", "medium", "high"]

_ORDER: dict[str, int] = {"none": 0, "low": 1, "medium": 2, "high": 3}


def at_least(level: RiskLevel, threshold: RiskLevel) -> bool:
    """True when `level` is `threshold` or worse."""
    return _ORDER[level] >= _ORDER[threshold]
