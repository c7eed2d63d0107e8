"""Per-category precision and recall of the risk checker on the labelled corpus.

Run `.venv/bin/python tests/risk/corpus_metrics.py` to print the table used in docs/risk.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from workflows.risk import CATEGORIES, RiskConfig, check

CORPUS = Path(__file__).resolve().parents[1] / "data" / "risk_corpus.yaml"


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def load() -> tuple[RiskConfig, list[dict]]:
    data = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))
    return RiskConfig.model_validate(data["config"]), data["posts"]


def score(
    only: str | None = None,
) -> tuple[dict[str, Score], list[tuple[str, set[str], set[str]]]]:
    """Scores per category, and the posts whose categories differ from their labels.

    `only="later"` scores only the posts written after the rules (see the corpus header).
    """
    config, posts = load()
    if only is not None:
        posts = [p for p in posts if p.get("set") == only]
    scores = {category: Score() for category in CATEGORIES}
    misses = []
    for post in posts:
        expected = set(post["expect"])
        got = check(post["text"], post.get("platform"), config).categories
        for category in CATEGORIES:
            if category in got and category in expected:
                scores[category].tp += 1
            elif category in got:
                scores[category].fp += 1
            elif category in expected:
                scores[category].fn += 1
        if got != expected:
            misses.append((post["text"], expected, got))
    return scores, misses


def table(scores: dict[str, Score]) -> str:
    rows = ["| category | posts | precision | recall |", "|---|---:|---:|---:|"]
    for category, s in scores.items():
        rows.append(f"| {category} | {s.tp + s.fn} | {s.precision:.2f} | {s.recall:.2f} |")
    return "\n".join(rows)


if __name__ == "__main__":
    _, posts = load()
    later = [p for p in posts if p.get("set") == "later"]
    for title, subset, only in (("All", posts, None), ("Written after the rules", later, "later")):
        safe = sum(1 for p in subset if not p["expect"])
        scores, misses = score(only)
        print(f"### {title}: {len(subset)} posts, {safe} safe\n")
        print(table(scores))
        print()
    for text, expected, got in score()[1]:
        print(f"MISS expected {sorted(expected)} got {sorted(got)}: {text}")
