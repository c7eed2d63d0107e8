"""Small text helpers shared by the view builders: Slack dates, mentions, safe lengths."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from workflows.models import StepRun


def when(moment: datetime, fallback_format: str = "%Y-%m-%d %H:%M UTC") -> str:
    """A time Slack shows in each reader's own time zone."""
    epoch = int(moment.timestamp())
    return f"<!date^{epoch}^{{date_short_pretty}} at {{time}}|{moment:{fallback_format}}>"


def mention(slack_id: str) -> str:
    """A mention for a user (U…/W…) or user group (S…) id."""
    return f"<!subteam^{slack_id}>" if slack_id.startswith("S") else f"<@{slack_id}>"


def mentions(ids: list[str] | tuple[str, ...]) -> str:
    return ", ".join(mention(i) for i in ids) or "nobody"


def approvers(step: StepRun) -> str:
    return mentions([*step.users, *step.usergroups])


def clip(text: str, limit: int) -> str:
    """Cut text to `limit` characters, marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def chunks(text: str, size: int) -> list[str]:
    """Split text into pieces of at most `size` characters, preferring line breaks."""
    pieces: list[str] = []
    while len(text) > size:
        cut = text.rfind("\n", 0, size)
        cut = cut + 1 if cut > size // 2 else size
        pieces.append(text[:cut])
        text = text[cut:]
    if text or not pieces:
        pieces.append(text)
    return pieces


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_SLACK_ID = re.compile(r"\b([UWS][A-Z0-9]*[0-9][A-Z0-9]*)\b")


def named_ids(text: str, name_of: Callable[[str], str | None]) -> str:
    """The user ids in a domain message as `@name` where `name_of` knows them: for plain text
    (a form's error), where Slack turns no id into a name."""

    def named(match: re.Match[str]) -> str:
        slack_id = match.group(1)
        name = None if slack_id.startswith("S") else name_of(slack_id)
        return f"@{name}" if name else slack_id

    return _SLACK_ID.sub(named, text)


def link_ids(text: str) -> str:
    """Turn the bare Slack ids in a domain message (U0ANNA, S0EDITORS) into mentions."""
    return _SLACK_ID.sub(lambda m: mention(m.group(1)), escape(text))
