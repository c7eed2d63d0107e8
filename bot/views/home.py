"""App Home: what waits for me, my drafts, what goes out next, whether publishing is frozen."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from slack_sdk.models.blocks import ActionsBlock, Block, DividerBlock, HeaderBlock
from slack_sdk.models.views import View

from bot.views.card import reschedule_button
from bot.views.messages import frozen_banner, post_list, section
from workflows.models import RESCHEDULABLE, Post


def home_view(
    *,
    queue: Sequence[Post],
    mine: Sequence[Post],
    scheduled: Sequence[Post],
    freeze: dict[str, str] | None,
    now: datetime,
) -> View:
    return View(
        type="home",
        blocks=[
            HeaderBlock(text="Greenlight"),
            frozen_banner(freeze),
            section(post_list("Waiting for you", queue, now, "Nothing waits for your decision.")),
            DividerBlock(),
            section(post_list("Your drafts", mine, now, "No drafts yet: `/greenlight draft`.")),
            *_reschedule_buttons("mine", mine),
            DividerBlock(),
            section(post_list("Going out next", scheduled, now, "Nothing approved is waiting.")),
            *_reschedule_buttons("next", scheduled),
        ],
    )


def _reschedule_buttons(list_name: str, posts: Sequence[Post]) -> list[Block]:
    """ "Reschedule #ID" for each approved, scheduled or held post of a list."""
    buttons = [
        reschedule_button(p, f"Reschedule #{p.id}") for p in posts if p.state in RESCHEDULABLE
    ]
    if not buttons:
        return []
    return [ActionsBlock(block_id=f"home-reschedule-{list_name}", elements=buttons[:25])]
