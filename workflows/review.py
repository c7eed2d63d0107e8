"""The risk checker applied to a revision: once per distinct platform of its targets (once
without a platform when none names one). The revision's risk level is the worst finding's."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from workflows.config import WorkflowFile
from workflows.models import Revision
from workflows.risk import Finding, check
from workflows.risk.models import ReportSeverity, RiskReport


class RiskReview:
    def __init__(self, config: WorkflowFile) -> None:
        self.config = config
        # Cards are re-rendered after every click; the check is pure, so remember recent ones.
        self._check = lru_cache(maxsize=512)(self._findings)

    def findings_for(self, text: str, targets: Sequence[str]) -> tuple[Finding, ...]:
        return self._check(text, tuple(targets))

    def findings(self, revision: Revision) -> tuple[Finding, ...]:
        return self.findings_for(revision.text, revision.targets)

    def level(self, text: str, targets: Sequence[str]) -> ReportSeverity:
        return RiskReport(self.findings_for(text, targets)).severity

    def _findings(self, text: str, targets: tuple[str, ...]) -> tuple[Finding, ...]:
        platforms = sorted(
            {t.platform for name in targets if (t := self.config.targets.get(name)) and t.platform}
        )
        seen: dict[tuple[str, int, int, str], Finding] = {}
        for platform in platforms or [None]:
            for finding in check(text, platform, self.config.risk).findings:
                seen.setdefault(
                    (finding.rule, finding.start, finding.end, finding.message), finding
                )
        return tuple(sorted(seen.values(), key=lambda f: (f.start, f.end, f.rule)))
