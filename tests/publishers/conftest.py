"""Publications as the scheduler builds them, with text that exercises encodings."""

from __future__ import annotations

import pytest

from bot.publishers.base import Publication

TEXT = "Caffè e qualità 🇮🇹☕ — #MadeInItaly, chiedi a @acme.bsky.social: https://acme.example/menù"


def publication(text: str = TEXT, *, target: str = "out", revision: int = 2) -> Publication:
    return Publication(
        post_id="P0001",
        revision=revision,
        text=text,
        targets=("out", "other"),
        campaign="autunno",
        approvals=(
            {"step": "Copy review", "actor": "U0ANNA", "at": "2026-11-26T04:10:00+00:00"},
            {"step": "Brand", "actor": "U0LUCA", "at": "2026-11-26T04:12:30+00:00"},
        ),
        idempotency_key=f"gl-T0ACME-P0001-r{revision}-{target}",
    )


@pytest.fixture
def approved() -> Publication:
    return publication()
