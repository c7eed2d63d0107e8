"""The `risk:` section of the workflow file, as a comms lead writes it.

Every key is optional; `RiskConfig()` is a working default. Unknown keys are errors, so a typo
such as `competitor:` is reported instead of silently ignored.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Platform = Literal["x", "bluesky", "mastodon", "threads", "linkedin", "instagram", "facebook"]
PLATFORMS: tuple[str, ...] = (
    "x",
    "bluesky",
    "mastodon",
    "threads",
    "linkedin",
    "instagram",
    "facebook",
)


def _term_or_mapping(value: Any) -> Any:
    """Let a plain string stand for `{term: <string>}` in lists of terms."""
    return {"term": value} if isinstance(value, str) else value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SensitiveTerm(_Strict):
    """A word, phrase or #hashtag the team knows is sensitive right now."""

    term: str = Field(
        min_length=1,
        description="Word, phrase or #hashtag, e.g. 'alluvione Emilia' or '#PrayForValencia'.",
    )
    active_from: date | None = Field(
        None, description="First day the term is sensitive (YYYY-MM-DD); empty means always."
    )
    active_until: date | None = Field(
        None, description="Last day the term is sensitive (YYYY-MM-DD); empty means no end."
    )
    note: str | None = Field(None, description="Why it is sensitive; shown to the author.")

    @model_validator(mode="after")
    def _ordered(self) -> SensitiveTerm:
        if self.active_from and self.active_until and self.active_until < self.active_from:
            raise ValueError("active_until is before active_from")
        return self

    def active_on(self, day: date) -> bool:
        if self.active_from and day < self.active_from:
            return False
        return not (self.active_until and day > self.active_until)


class BannedTerm(_Strict):
    """A word the brand never publishes: always a high-severity finding."""

    term: str = Field(min_length=1, description="Word or phrase never to publish.")
    reason: str | None = Field(None, description="Shown to the author, e.g. 'old product name'.")
    category: Literal[
        "profanity",
        "hate_or_harassment",
        "sensitive_event_or_tragedy",
        "legal_or_medical_claim",
        "competitor_or_brand_mention",
        "confidential_or_leak",
    ] = Field(
        "competitor_or_brand_mention",
        description="Category the finding is filed under (default: brand mention).",
    )


class PlatformLimits(_Strict):
    """Length limits per platform; override one when your account or instance differs."""

    x: int = Field(280, gt=0, description="X: weighted characters (links 23, emoji 2).")
    bluesky: int = Field(300, gt=0, description="Bluesky: graphemes (what a reader sees).")
    bluesky_bytes: int = Field(3000, gt=0, description="Bluesky: UTF-8 bytes.")
    mastodon: int = Field(500, gt=0, description="Mastodon: characters (links 23); per instance.")
    threads: int = Field(500, gt=0, description="Threads: characters.")
    threads_links: int = Field(5, ge=0, description="Threads: most links in one post.")
    linkedin: int = Field(3000, gt=0, description="LinkedIn: characters.")
    instagram: int = Field(2200, gt=0, description="Instagram: caption characters.")
    instagram_hashtags: int = Field(
        5, ge=0, description="Instagram: most hashtags (the cap went from 30 to 5; set yours)."
    )
    facebook: int = Field(63206, gt=0, description="Facebook: characters.")


class RiskConfig(_Strict):
    """Risk warnings settings (the `risk:` key of the workflow file)."""

    competitors: list[str] = Field(
        default_factory=list,
        description="Competitors and other brands to flag when named (also as @handle or #tag).",
    )
    own_contacts: list[str] = Field(
        default_factory=list,
        description=(
            "The brand's own public e-mails, phone numbers or '@domain' entries: "
            "never reported as personal data."
        ),
    )
    sensitive_terms: list[SensitiveTerm] = Field(
        default_factory=list,
        description=(
            "Terms and hashtags that are sensitive now (an ongoing crisis, a local tragedy), "
            "each with optional active_from / active_until dates."
        ),
    )
    banned_terms: list[BannedTerm] = Field(
        default_factory=list, description="Words never to publish: always a high finding."
    )
    allow_terms: list[str] = Field(
        default_factory=list,
        description="Words never flagged, e.g. a product name that looks like slang.",
    )
    require_override_at: Literal["low", "medium", "high"] | None = Field(
        None,
        description=(
            "From this risk level up, the final approval needs a written justification "
            "(audited). Empty: never required."
        ),
    )
    limits: PlatformLimits = Field(
        default_factory=PlatformLimits,
        description="Per-platform length limits, e.g. {x: 280, instagram_hashtags: 5}.",
    )

    @field_validator("sensitive_terms", "banned_terms", mode="before")
    @classmethod
    def _plain_strings(cls, value: Any) -> Any:
        return [_term_or_mapping(v) for v in value] if isinstance(value, list) else value

    @field_validator("competitors", "own_contacts", "allow_terms")
    @classmethod
    def _no_blank(cls, value: list[str]) -> list[str]:
        if any(not v.strip() for v in value):
            raise ValueError("entries must not be empty")
        return [v.strip() for v in value]
