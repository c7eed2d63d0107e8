"""The `risk:` settings as a comms lead writes them."""

from __future__ import annotations

import pytest
import yaml
from pydantic import ValidationError

from workflows.risk import RiskConfig


def test_defaults_work() -> None:
    config = RiskConfig()
    assert config.limits.x == 280
    assert config.require_override_at is None


def test_full_section_from_yaml() -> None:
    data = yaml.safe_load(
        """
        competitors: [Nike, Barilla]
        own_contacts: [assistenza@example.com, "+39 02 1234 5678"]
        sensitive_terms:
          - alluvione
          - {term: "#Valencia", active_from: 2026-11-01, active_until: 2026-12-01, note: floods}
        banned_terms: [OldBrand, {term: cheap, reason: off brand}]
        allow_terms: [Bastardo]
        require_override_at: high
        limits: {x: 280, instagram_hashtags: 5}
        """
    )
    config = RiskConfig.model_validate(data)
    assert [t.term for t in config.sensitive_terms] == ["alluvione", "#Valencia"]
    assert config.banned_terms[1].reason == "off brand"
    assert config.limits.instagram_hashtags == 5
    assert config.limits.mastodon == 500


@pytest.mark.parametrize(
    "data",
    [
        {"competitor": ["Nike"]},
        {"limits": {"myspace": 100}},
        {"sensitive_terms": [{"term": "x", "from": "2026-01-01"}]},
        {"require_override_at": "critical"},
        {"limits": {"x": 0}},
        {
            "sensitive_terms": [
                {"term": "x", "active_from": "2026-02-01", "active_until": "2026-01-01"}
            ]
        },
        {"competitors": [""]},
    ],
)
def test_mistakes_are_errors(data: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        RiskConfig.model_validate(data)


def test_fields_are_described_for_humans() -> None:
    schema = RiskConfig.model_json_schema()
    for name, field in schema["properties"].items():
        assert field.get("description"), name
