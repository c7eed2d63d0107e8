"""What a command returns: an accepted transition and its events, or a refusal that says why."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from workflows.models import Post


class RefusalCode(StrEnum):
    NOT_FOUND = "not_found"
    OUTDATED_REVISION = "outdated_revision"
    ALREADY_DECIDED = "already_decided"
    ALREADY_VOTED = "already_voted"
    NOT_YOUR_STEP = "not_your_step"
    NOT_AN_APPROVER = "not_an_approver"
    AUTHOR_CANNOT_APPROVE = "author_cannot_approve"
    APPROVED_EARLIER_STEP = "approved_earlier_step"
    POST_FINISHED = "post_finished"
    NOT_ALLOWED = "not_allowed"
    INVALID = "invalid"
    NOTHING_CHANGED = "nothing_changed"
    JUSTIFICATION_REQUIRED = "justification_required"


@dataclass(frozen=True)
class Refusal:
    """Nothing changed. `message` is written for the person who tried; `can_act` lists the
    user and user group ids who could do it instead (empty when nobody can); `field` names the
    command's input the refusal is about (`text`, `targets`, `scheduled_at`, `workflow`,
    `reason`), so a form can show it there, or is None when it is about the whole command."""

    code: RefusalCode
    message: str
    can_act: tuple[str, ...] = ()
    field: str | None = None


@dataclass(frozen=True)
class Event:
    """Something that happened to a post. The first event of a transition is its audit entry;
    any further ones (`step_started`) tell the chat side whom to notify."""

    action: str
    post_id: str
    revision: int
    actor: str
    at: datetime
    from_state: str
    to_state: str
    step: int | None = None
    step_name: str | None = None
    reason: str | None = None
    target: str | None = None
    on_behalf_of: str | None = None  # a delegate acted for this away approver

    def audit_fields(self) -> dict[str, str]:
        fields = {
            "action": self.action,
            "post": self.post_id,
            "revision": str(self.revision),
            "actor": self.actor,
            "at": self.at.isoformat(),
            "from": self.from_state,
            "to": self.to_state,
        }
        if self.step is not None:
            fields["step"] = str(self.step)
            fields["step_name"] = self.step_name or ""
        if self.reason:
            fields["reason"] = self.reason
        if self.target:
            fields["target"] = self.target
        if self.on_behalf_of:
            fields["for"] = self.on_behalf_of
        return fields


@dataclass(frozen=True)
class Accepted:
    """The transition happened (or, with `replayed`, had already happened: nothing new)."""

    post: Post
    events: tuple[Event, ...] = field(default=())
    replayed: bool = False


Outcome = Accepted | Refusal
