"""Quality floors on the labelled corpus (tests/data/risk_corpus.yaml).

Floors sit just under what we measure (see docs/risk.md): a change that costs more than one
post's worth of precision or recall in any category fails here and must be looked at.
"""

from __future__ import annotations

import pytest
from corpus_metrics import load, score

from workflows.risk import CATEGORIES

PRECISION_FLOOR = 0.90
RECALL_FLOOR = 0.90


def test_corpus_is_big_balanced_and_bilingual() -> None:
    _, posts = load()
    assert len(posts) >= 150
    assert sum(1 for p in posts if not p["expect"]) * 2 >= len(posts)
    assert {"en", "it", "mixed"} <= {p["lang"] for p in posts}
    for category in CATEGORIES:
        labelled = [p for p in posts if category in p["expect"]]
        assert len(labelled) >= 5, category
        assert {"en", "it"} <= {p["lang"] for p in labelled}, category


@pytest.fixture(scope="module")
def scores():
    return score()[0]


@pytest.mark.parametrize("category", CATEGORIES)
def test_precision_and_recall_floors(category: str, scores) -> None:
    s = scores[category]
    assert s.precision >= PRECISION_FLOOR, f"{category}: precision {s.precision:.2f}"
    assert s.recall >= RECALL_FLOOR, f"{category}: recall {s.recall:.2f}"
