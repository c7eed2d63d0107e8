"""What every publisher shares: the domain's publishing types, and reading a target's secret.

The types live in `workflows.publishing` (the scheduler raises and catches them there); they are
re-exported here so a publisher module needs one import.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from workflows.publishing import (
    PermanentFailure,
    Publication,
    Published,
    Publisher,
    TemporaryFailure,
    UnknownOutcome,
)

__all__ = [
    "MissingSecret",
    "PermanentFailure",
    "Publication",
    "Published",
    "Publisher",
    "TemporaryFailure",
    "UnknownOutcome",
    "retry_after_seconds",
    "secret",
]


class MissingSecret(Exception):
    """A target names an environment variable that is not set: the publisher cannot be built."""


def secret(environ: Mapping[str, str], variable: str, target_name: str) -> str:
    """The value of `variable`, or a `MissingSecret` that names it and the target."""
    value = environ.get(variable, "")
    if not value:
        raise MissingSecret(
            f"target {target_name!r} needs the environment variable {variable}, which is not set"
        )
    return value


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """A `Retry-After` header (seconds, or an HTTP date) as seconds from now, never negative."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)
