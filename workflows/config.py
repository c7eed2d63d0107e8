"""The workflow file's schema: what a comms lead writes, validated by pydantic.

Unknown keys are errors everywhere (`extra="forbid"`): a typo such as `quorom` must never pass
silently and leave a step without the quorum its author meant. Loading a file, with line numbers
and all problems at once, lives in `workflows.configfile`.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)

from workflows.risk.config import PLATFORMS, RiskConfig
from workflows.risk.models import Severity
from workflows.timing import ClockTime, Duration, parse_window

#: Step quorum: a number of approvals, or "all" of the step's approvers.
QUORUM_ALL = "all"


def _parse_quorum(value: Any) -> int | str:
    if value == QUORUM_ALL:
        return QUORUM_ALL
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f'must be a whole number of approvals or "all", not {value!r}')
    if value < 1:
        raise ValueError(f"must be at least 1, not {value}")
    return value


Quorum = Annotated[int | str, BeforeValidator(_parse_quorum)]
#: A list that a comms lead may also write as a single value (`campaign: spring`).
OneOrMany = Annotated[
    list[str], BeforeValidator(lambda value: [value] if isinstance(value, str) else value)
]
SLACK_ID_PATTERN = r"^[A-Z0-9][A-Z0-9_-]+$"
ENV_VAR_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
SlackId = Annotated[str, Field(min_length=2, pattern=SLACK_ID_PATTERN)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Approvers(StrictModel):
    """Who may decide a step: Slack user ids and/or user group ids (resolved at decision time)."""

    users: list[SlackId] = []
    usergroups: list[SlackId] = []


class StepCondition(StrictModel):
    """A step applies only when every condition given here holds for the post."""

    risk_at_least: Severity | None = None
    targets: list[str] | None = Field(None, description="any of these targets is on the post")
    campaign: OneOrMany | None = Field(None, description="the post's campaign is one of these")


class Step(StrictModel):
    name: str = Field(min_length=1)
    approvers: Approvers
    quorum: Quorum = 1
    when: StepCondition | None = None
    channel: SlackId | None = None
    remind_after: Duration | None = Field(None, description="first reminder, after the start")
    remind_every: Duration | None = Field(None, description="further reminders, this often")
    escalate_after: Duration | None = Field(None, description="escalate, after the start")
    escalate_to: Approvers | None = Field(None, description="who may decide once escalated")

    @model_validator(mode="after")
    def _reminders_make_sense(self) -> Step:
        if self.remind_every and not self.remind_after:
            raise ValueError(
                "remind_every needs remind_after (when the first reminder goes), "
                "e.g. remind_after: 2h"
            )
        if self.escalate_to and not self.escalate_after:
            raise ValueError(
                "escalate_to needs escalate_after (how long the step waits before it "
                "escalates), e.g. escalate_after: 1d"
            )
        if self.escalate_after and not self.escalate_to:
            raise ValueError(
                "escalate_after needs escalate_to (the users or usergroups who may then "
                "decide the step)"
            )
        if self.escalate_to and not (self.escalate_to.users or self.escalate_to.usergroups):
            raise ValueError("escalate_to lists nobody: add users or usergroups")
        return self


class WorkflowMatch(StrictModel):
    """Which drafts a workflow takes; an empty match takes every draft."""

    channels: list[SlackId] = []
    targets: list[str] = []
    campaign: OneOrMany = []


class Workflow(StrictModel):
    name: str = Field(min_length=1)
    match: WorkflowMatch = WorkflowMatch()
    targets: list[str] = []
    steps: list[Step] = Field(min_length=1)
    allow_self_approval: bool = False
    distinct_approvers: bool = True
    expiry: Literal["hold", "publish_late", "cancel"] = Field(
        "hold",
        description="when the last approval comes after the scheduled time: hold for a human "
        "(default), publish at once anyway, or cancel",
    )


Platform = Literal[PLATFORMS]  # type: ignore[valid-type]  # the risk checker's platform names


EnvVarName = Annotated[
    str,
    Field(
        pattern=ENV_VAR_PATTERN,
        description="the name of an environment variable (never the secret itself)",
    ),
]


def _http_url(value: Any) -> Any:
    if isinstance(value, str) and not value.startswith(("https://", "http://")):
        raise ValueError(f"must be an http:// or https:// URL, not {value!r}")
    return value


HttpUrl = Annotated[str, BeforeValidator(_http_url)]


class SlackTarget(StrictModel):
    """A Slack channel the bot posts approved text in."""

    type: Literal["slack"]
    channel: SlackId
    platform: Platform | None = Field(None, description="which network's length rules apply")
    timeout_seconds: float = Field(
        30, gt=0, le=120, description="seconds to wait for Slack to confirm a post"
    )


class WebhookTarget(StrictModel):
    """A URL that receives each approved post as signed JSON (Zapier, Make, n8n, Buffer)."""

    type: Literal["webhook"]
    url: HttpUrl = Field(description="where the JSON document is POSTed")
    secret_env: EnvVarName = Field(description="variable holding the HMAC-SHA256 signing secret")
    timeout_seconds: float = Field(10, gt=0, le=120, description="seconds to wait for an answer")
    platform: Platform | None = Field(None, description="which network's length rules apply")


class MastodonTarget(StrictModel):
    """A Mastodon account; statuses are posted with its access token."""

    type: Literal["mastodon"]
    base_url: HttpUrl = Field(description="the instance, such as https://mastodon.social")
    token_env: EnvVarName = Field(description="variable holding the account's access token")
    visibility: Literal["public", "unlisted", "private", "direct"] = Field(
        "public", description="who sees the status"
    )
    platform: Platform | None = Field("mastodon", description="which network's length rules apply")


class BlueskyTarget(StrictModel):
    """A Bluesky (AT Protocol) account, signed in with an app password."""

    type: Literal["bluesky"]
    handle: str = Field(min_length=3, description="the account's handle, such as acme.bsky.social")
    password_env: EnvVarName = Field(description="variable holding an app password")
    service: HttpUrl = Field("https://bsky.social", description="the account's PDS")
    platform: Platform | None = Field("bluesky", description="which network's length rules apply")


Target = Annotated[
    SlackTarget | WebhookTarget | MastodonTarget | BlueskyTarget, Field(discriminator="type")
]


class Blackout(StrictModel):
    """A window in which nothing is scheduled or published (e.g. a day of mourning)."""

    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")
    reason: str = Field(min_length=1)
    targets: list[str] = Field([], description="only these targets; empty: every target")

    @field_validator("start", "end")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("needs a time zone, e.g. 2026-11-02T00:00:00+01:00")
        return value


#: A daily window such as "20:00-08:00" (it may wrap past midnight).
QuietWindow = Annotated[
    tuple[time, time],
    BeforeValidator(parse_window),
    PlainSerializer(lambda w: f"{w[0]:%H:%M}-{w[1]:%H:%M}", return_type=str),
]


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone name such as Europe/Rome") from None
    return value


def _weekday(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower()[:3] in WEEKDAYS:
        return value.strip().lower()[:3]
    raise ValueError(f"must be a day of the week ({', '.join(WEEKDAYS)}), not {value!r}")


ZoneName = Annotated[str, AfterValidator(_known_zone)]
Weekday = Annotated[str, BeforeValidator(_weekday)]


class Digest(StrictModel):
    """A daily summary posted to a channel at a local time (see `workflows.digest`)."""

    channel: SlackId = Field(description="where the digest is posted")
    at: ClockTime = Field(description='local time of day, such as "09:00"')
    timezone: ZoneName | None = Field(None, description="default: the file's timezone")
    weekdays: list[Weekday] = Field(list(WEEKDAYS), min_length=1, description="days it is sent")
    personal: bool = Field(False, description="also DM each approver their own queue")
    grace: Duration = Field(
        timedelta(hours=6),
        description="how late a digest may still go out when no worker ran at its time",
    )

    @property
    def key(self) -> str:
        """Names this digest in Redis: one per channel and time."""
        return f"{self.channel}-{self.at:%H%M}"


def _one_or_many_digests(value: Any) -> Any:
    return [value] if isinstance(value, dict) else value


class Intake(StrictModel):
    channels: list[SlackId] = []


class WorkflowFile(StrictModel):
    timezone: ZoneName = "UTC"
    admins: list[SlackId] = []
    intake: Intake = Intake()
    approvals_channel: SlackId | None = None
    targets: dict[str, Target] = {}
    workflows: list[Workflow] = Field(min_length=1)
    risk: RiskConfig = RiskConfig()
    blackouts: list[Blackout] = []
    retention_days: int = Field(
        90, ge=1, description="days a finished post and its audit trail are kept"
    )
    quiet_hours: QuietWindow | None = Field(
        None,
        description="reminders and escalation DMs due in this window wait until it ends, in "
        "each person's time zone",
    )
    quiet_weekends: bool = Field(
        False, description="no reminders or escalation DMs on Saturdays and Sundays either"
    )
    digest: Annotated[list[Digest], BeforeValidator(_one_or_many_digests)] = Field(
        [], description="daily digests: one mapping, or a list of them"
    )

    def digest_zone(self, digest: Digest) -> ZoneInfo:
        return ZoneInfo(digest.timezone or self.timezone)

    def workflow_named(self, name: str) -> Workflow | None:
        return next((w for w in self.workflows if w.name == name), None)
