"""The commands people give the engine. Each names the actor, the post and the revision it acts
on, so a click on an old card can never change a newer revision."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from workflows.models import Source


class Keep(Enum):
    """Marks a field of `Revise` left as it was."""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass(frozen=True)
class Submit:
    actor: str
    text: str
    targets: tuple[str, ...] | None = None  # None: the workflow's default targets
    scheduled_at: datetime | None = None
    campaign: str | None = None
    workflow: str | None = None  # None: the first workflow whose `match` fits
    channel: str | None = None  # the intake channel, for `match.channels`
    source: Source | None = None
    source_key: str | None = None  # e.g. the chat event id: a replay returns the same post
    urgent: bool = False  # reminders ignore quiet hours


@dataclass(frozen=True)
class Approve:
    actor: str
    post_id: str
    revision: int
    step: int
    #: Required for the final approval of a post at or above `risk.require_override_at`.
    justification: str | None = None


@dataclass(frozen=True)
class Reject:
    actor: str
    post_id: str
    revision: int
    step: int
    reason: str


@dataclass(frozen=True)
class RequestChanges:
    actor: str
    post_id: str
    revision: int
    step: int
    comment: str


@dataclass(frozen=True)
class Revise:
    actor: str
    post_id: str
    revision: int
    text: str | Keep = KEEP
    targets: tuple[str, ...] | Keep = KEEP
    scheduled_at: datetime | Keep | None = KEEP
    campaign: str | Keep | None = KEEP
    urgent: bool | Keep = KEEP


@dataclass(frozen=True)
class Withdraw:
    actor: str
    post_id: str
    revision: int


@dataclass(frozen=True)
class Override:
    actor: str
    post_id: str
    revision: int
    justification: str


@dataclass(frozen=True)
class Cancel:
    actor: str
    post_id: str
    revision: int
    reason: str | None = None


@dataclass(frozen=True)
class Reschedule:
    """A new time for an approved post: no new approval (text and targets stay as approved).
    `at` None publishes as soon as possible ("publish now", e.g. for a held post)."""

    actor: str
    post_id: str
    revision: int
    at: datetime | None


@dataclass(frozen=True)
class ResolveDelivery:
    """A human settles a target whose outcome is unknown (or that failed): `published` after
    checking it went out, or `retry`."""

    actor: str
    post_id: str
    revision: int
    target: str
    outcome: str  # "published" | "retry"


@dataclass(frozen=True)
class Escalate:
    """The step waited its `escalate_after`: its `escalate_to` people may now decide it.
    Given by a worker (actor "greenlight") when the time comes."""

    actor: str
    post_id: str
    revision: int
    step: int


Decision = Approve | Reject | RequestChanges
PostCommand = (
    Approve
    | Reject
    | RequestChanges
    | Revise
    | Withdraw
    | Override
    | Cancel
    | Reschedule
    | ResolveDelivery
    | Escalate
)
Command = Submit | PostCommand
