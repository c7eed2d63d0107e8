"""What Slack sends us, parsed at the edge with pydantic: button values, modal metadata and
modal inputs. Anything malformed raises `BadPayload` with a message fit for the user."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class BadPayload(ValueError):
    """A payload Greenlight did not build, or one that was tampered with."""


class PostRef(BaseModel):
    """The post, revision and (for decisions) step a button or modal was rendered for."""

    model_config = ConfigDict(extra="ignore")
    post_id: str = Field(alias="p", min_length=1, max_length=20)
    revision: int = Field(alias="r", ge=1)
    step: int | None = Field(None, alias="s", ge=0)
    target: str | None = Field(None, alias="t", max_length=100)


class ReasonMetadata(PostRef):
    verdict: str = Field(alias="v", pattern="^(approve|reject|request_changes)$")


class NewTimeMetadata(PostRef):
    """The reschedule modal's post and revision; `from_home` when it was opened in App Home."""

    from_home: bool = Field(False, alias="h")


class DraftMetadata(BaseModel):
    model_config = ConfigDict(extra="ignore")
    channel: str | None = Field(None, alias="c")


class DraftInput(BaseModel):
    """The inputs of the draft and edit modals."""

    text: str
    targets: tuple[str, ...] | None
    scheduled_at: datetime | None
    campaign: str | None
    workflow: str | None
    urgent: bool = False


M = TypeVar("M", bound=BaseModel)
#: Slack's escaped entities in slash-command text: `<@U1|anna>`, `<#C1|general>`,
#: `<!subteam^S1|@editors>`, `<https://example.com|example.com>`.
_ENTITY = re.compile(r"<([@#!]?)([^<>|]+)(?:\|([^<>]*))?>")


def typed_text(text: str, name_of: Callable[[str], str | None] | None = None) -> str:
    """A chat message's or a slash command's text as the person typed it. Slack escapes `&`,
    `<` and `>` in both and turns links and mentions into markup (the app asks it to escape
    commands, so `delegate @anna` arrives as a user id); a draft's text must carry none of it,
    or a network would publish `Q&amp;A`. A link keeps the address when its text is not the
    address itself (a link made with Slack's link button): `our sale (https://…)`. A person
    mentioned without a label (as chat messages have them) is `@` and `name_of` their id, the
    name they show in Slack, when it is known: a network must not publish `@U0123ABC`."""

    def plain(match: re.Match[str]) -> str:
        sigil, target, label = match.groups()
        if not sigil:
            return _link(target, label)
        if sigil == "@" and not label and name_of and (name := name_of(target)):
            return f"@{name}"
        if target.startswith("date^"):
            return label or ""  # a date shown in each reader's time zone: its fallback text
        shown = label or target.split("^")[0]
        return shown if shown.startswith(("@", "#")) else ("#" if sigil == "#" else "@") + shown

    return html.unescape(_ENTITY.sub(plain, text))


def _link(target: str, label: str | None) -> str:
    """A link as typed: Slack links `shop.example` as `<http://shop.example|shop.example>`."""
    address = target.split(":", 1)[1].lstrip("/") if ":" in target else target
    if not label or label in (target, address):
        return label or target
    return f"{label} ({target})"


def parse(model: type[M], raw: str | None) -> M:
    try:
        return model.model_validate(json.loads(raw or ""))
    except (ValueError, ValidationError):
        raise BadPayload("This button or form was not made by Greenlight, or is damaged.") from None


def draft_input(state_values: dict[str, Any]) -> DraftInput:
    """Read the draft/edit modal's inputs from `view.state.values`."""

    def value(block: str) -> Any:
        return state_values.get(block, {}).get(block, {})

    targets = [o["value"] for o in value("targets").get("selected_options") or []]
    moment = value("schedule").get("selected_date_time")
    return DraftInput(
        text=value("text").get("value") or "",
        targets=tuple(targets) or None,
        scheduled_at=datetime.fromtimestamp(moment, UTC) if moment else None,
        campaign=(value("campaign").get("value") or "").strip() or None,
        workflow=(value("workflow").get("selected_option") or {}).get("value"),
        urgent=any(
            o.get("value") == "urgent" for o in value("urgent").get("selected_options") or []
        ),
    )


def reason_input(state_values: dict[str, Any]) -> str:
    return (state_values.get("reason", {}).get("reason", {}).get("value") or "").strip()


def new_time_input(state_values: dict[str, Any], timezone: str) -> datetime | None:
    """The reschedule modal's date and time as one moment (None when either is missing): in
    the zone the time picker reports, else `timezone` (the workflow file's)."""
    date = state_values.get("date", {}).get("date", {}).get("selected_date")
    picked = state_values.get("time", {}).get("time", {})
    if not date or not picked.get("selected_time"):
        return None
    try:
        local = datetime.strptime(f"{date} {picked['selected_time']}", "%Y-%m-%d %H:%M")
        return local.replace(tzinfo=ZoneInfo(picked.get("timezone") or timezone))
    except (ValueError, ZoneInfoNotFoundError):
        raise BadPayload("This date or time is not one Slack's pickers send.") from None
