"""Posts, revisions and the state of their approval chain.

A post is stored as one document (see `workflows.store`); the chain of a revision is a snapshot
of the workflow's steps taken when the revision entered review, so editing the workflow file
never changes who must approve a post already in flight.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from workflows.risk.models import ReportSeverity as RiskLevel


class PostState(StrEnum):
    DRAFT = "draft"  # changes were requested; waits for the author's revision
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    CANCELLED = "cancelled"
    SCHEDULED = "scheduled"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    HELD = "held"
    FAILED = "failed"
    OUTCOME_UNKNOWN = "outcome_unknown"


#: States from which nothing moves any more; posts in them may expire after the retention time.
FINISHED = frozenset(
    {PostState.REJECTED, PostState.WITHDRAWN, PostState.CANCELLED, PostState.PUBLISHED}
)
#: States in which the text is still under review and can be revised by its author.
REVISABLE = frozenset(
    {PostState.DRAFT, PostState.IN_REVIEW, PostState.APPROVED, PostState.SCHEDULED, PostState.HELD}
)
#: Approved states whose time can still move (reschedule, publish now) without a new approval.
RESCHEDULABLE = frozenset({PostState.APPROVED, PostState.SCHEDULED, PostState.HELD})


class StepStatus(StrEnum):
    WAITING = "waiting"  # an earlier step has not finished yet
    ACTIVE = "active"
    APPROVED = "approved"
    SKIPPED = "skipped"  # its `when` condition did not hold for this revision
    REJECTED = "rejected"
    CHANGES_REQUESTED = "changes_requested"
    OVERRIDDEN = "overridden"  # an admin approved the post past this step, with a reason


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Vote(Model):
    """One approver's decision on one step of one revision."""

    actor: str
    verdict: str  # "approve" | "reject" | "request_changes"
    at: datetime
    reason: str | None = None
    #: The away approver a delegate decided for (`actor` is the delegate who clicked).
    on_behalf_of: str | None = None

    @property
    def voter(self) -> str:
        """Whose vote this is for quorum and the one-person-one-step rule."""
        return self.on_behalf_of or self.actor


class Nudges(Model):
    """When a step reminds its approvers and escalates, snapshot from the workflow file."""

    remind_after: timedelta | None = None
    remind_every: timedelta | None = None
    escalate_after: timedelta | None = None
    escalate_users: list[str] = []
    escalate_usergroups: list[str] = []


class StepRun(Model):
    """A workflow step as it runs for one revision."""

    name: str
    users: list[str]
    usergroups: list[str]
    quorum: int | str
    channel: str | None
    status: StepStatus
    votes: list[Vote] = []
    started_at: datetime | None = None
    decided_at: datetime | None = None
    nudges: Nudges | None = None
    escalated_at: datetime | None = None

    @property
    def approvals(self) -> list[Vote]:
        return [v for v in self.votes if v.verdict == "approve"]


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waits for its time (or for a retry after a temporary failure)
    ATTEMPTING = "attempting"  # a worker recorded that it is calling the target now
    PUBLISHED = "published"
    FAILED = "failed"  # a permanent failure, or temporary ones until retries ran out
    OUTCOME_UNKNOWN = "outcome_unknown"  # the worker died mid-call: a human must check


class Delivery(Model):
    """The publication of the approved revision to one target."""

    target: str
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    token: int | None = None  # fencing token of the claim that made the current attempt
    remote_id: str | None = None
    permalink: str | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None
    updated_at: datetime | None = None


class Revision(Model):
    number: int
    text: str
    targets: list[str]
    scheduled_at: datetime | None = None
    campaign: str | None = None
    risk: RiskLevel = "none"
    created_by: str
    created_at: datetime
    urgent: bool = False  # the crisis path: reminders ignore quiet hours


class Source(Model):
    """Where the draft came from in the chat tool (intake message, modal, shortcut)."""

    channel: str | None = None
    ts: str | None = None


class Post(Model):
    id: str
    team: str
    author: str
    workflow: str
    state: PostState
    revisions: list[Revision]
    steps: list[StepRun]
    created_at: datetime
    updated_at: datetime
    version: int = 0
    source: Source | None = None
    closing_reason: str | None = None
    deliveries: list[Delivery] = []

    def clone(self) -> Post:
        """A copy whose step runs and lists can be changed without touching this post.

        Revisions and votes are shared: they are never changed once written, only appended.
        (Much cheaper than a deep copy, which dominated the cost of a decision.)
        """
        steps = [run.model_copy(update={"votes": list(run.votes)}) for run in self.steps]
        deliveries = [d.model_copy() for d in self.deliveries]
        return self.model_copy(
            update={"revisions": list(self.revisions), "steps": steps, "deliveries": deliveries}
        )

    @property
    def revision(self) -> Revision:
        return self.revisions[-1]

    @property
    def current_step(self) -> int | None:
        """Index of the step waiting for a decision, or None when no step is active."""
        return next((i for i, s in enumerate(self.steps) if s.status == StepStatus.ACTIVE), None)

    @property
    def waiting_since(self) -> datetime | None:
        """When the active step started waiting for a decision (the post's last change when
        that was not recorded); None when the post waits for no step."""
        step = self.current_step
        if self.state != PostState.IN_REVIEW or step is None:
            return None
        return self.steps[step].started_at or self.updated_at

    @property
    def finished(self) -> bool:
        return self.state in FINISHED
