"""What the scheduler hands a target, and what a target answers. Publishers (Slack, webhook,
Mastodon, Bluesky) implement `Publisher` on the chat/network side; the domain only calls it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from workflows.models import Post


@dataclass(frozen=True)
class Publication:
    """Exactly what was approved, for one target."""

    post_id: str
    revision: int
    text: str
    targets: tuple[str, ...]
    campaign: str | None
    approvals: tuple[dict[str, str], ...]
    idempotency_key: str

    @classmethod
    def of(cls, team: str, post: Post, target: str) -> Publication:
        revision = post.revision
        approvals = tuple(
            {"step": run.name, "actor": vote.actor, "at": vote.at.isoformat()}
            for run in post.steps
            for vote in run.approvals
        )
        return cls(
            post_id=post.id,
            revision=revision.number,
            text=revision.text,
            targets=tuple(revision.targets),
            campaign=revision.campaign,
            approvals=approvals,
            idempotency_key=f"gl-{team}-{post.id}-r{revision.number}-{target}",
        )


@dataclass(frozen=True)
class Published:
    remote_id: str
    permalink: str | None = None


class PermanentFailure(Exception):
    """The target refused for good (4xx, unknown channel): never retried; `message` is shown."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TemporaryFailure(Exception):
    """Try again later (429, 5xx, timeout); `retry_after` seconds when the target said."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class UnknownOutcome(Exception):
    """The request was sent but no answer came (a read timeout, a dropped connection): the post
    may or may not be out. Raised by targets without an idempotency key, where a retry could
    publish twice; the scheduler marks the target `outcome_unknown` and asks a human."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Publisher(Protocol):
    #: True when a retry after an unknown outcome cannot publish twice (an idempotency key or a
    #: deterministic record key); False means Greenlight asks a human instead of retrying.
    idempotent: bool

    def publish(self, publication: Publication) -> Published:
        """Raises `PermanentFailure`, `TemporaryFailure` or `UnknownOutcome`."""
        ...
