"""Modals: new draft, edit draft, the reason asked for by Reject / Request changes, and a new
time for an approved post."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    CheckboxesElement,
    ContextBlock,
    DatePickerElement,
    DateTimePickerElement,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticMultiSelectElement,
    StaticSelectElement,
    TimePickerElement,
)
from slack_sdk.models.views import View

from bot.views.card import excerpt
from bot.views.format import clip, escape, when
from workflows.config import WorkflowFile
from workflows.models import Post, PostState

DRAFT, EDIT, REASON, NEW_TIME = "gl_draft", "gl_edit", "gl_reason", "gl_new_time"
TEXT_LIMIT = 3000  # Slack's plain_text_input maximum


def _metadata(data: dict[str, object]) -> str:
    return json.dumps(data, separators=(",", ":"))


def _option(name: str) -> Option:
    return Option(text=clip(name, 75), value=name[:150])


def draft_modal(config: WorkflowFile, channel: str | None, text: str = "") -> View:
    """`/greenlight draft` and the "Send for approval" shortcut (prefilled with the message)."""
    blocks = _content_inputs(
        config, text=text, targets=(), scheduled_at=None, campaign=None, urgent=False
    )
    if len(config.workflows) > 1:
        blocks.append(
            InputBlock(
                block_id="workflow",
                label="Workflow",
                optional=True,
                hint="Leave empty to use the first workflow that fits the draft.",
                element=StaticSelectElement(
                    action_id="workflow",
                    options=[_option(w.name) for w in config.workflows][:100],
                ),
            )
        )
    return View(
        type="modal",
        callback_id=DRAFT,
        title="New draft",
        submit="Send for approval",
        close="Cancel",
        private_metadata=_metadata({"c": channel}),
        blocks=blocks,
    )


def edit_modal(config: WorkflowFile, post: Post) -> View:
    revision = post.revision
    blocks = [
        SectionBlock(
            text=MarkdownTextObject(
                text=f"Saving makes revision {revision.number + 1} of draft #{post.id}: "
                "every approval so far is void and the chain starts again."
            )
        ),
        *_content_inputs(
            config,
            text=revision.text,
            targets=tuple(revision.targets),
            scheduled_at=revision.scheduled_at,
            campaign=revision.campaign,
            urgent=revision.urgent,
        ),
    ]
    return View(
        type="modal",
        callback_id=EDIT,
        title=clip(f"Edit draft #{post.id}", 24),
        submit="Save and resubmit",
        close="Cancel",
        private_metadata=_metadata({"p": post.id, "r": revision.number}),
        blocks=blocks,
    )


_REASON_TEXTS = {  # verdict: title, submit, question
    "reject": ("Reject draft", "Reject", "Why is it rejected?"),
    "request_changes": ("Request changes", "Send to author", "What should change?"),
    "approve": ("Approve a risky post", "Approve", "Why is it fine to publish despite the risk?"),
}


def reason_modal(post: Post, step: int, verdict: str) -> View:
    """Asks for the reason of a Reject / Request changes, or the written justification that
    the final approval of a high-risk post needs (`risk.require_override_at`)."""
    title, submit, question = _REASON_TEXTS[verdict]
    return View(
        type="modal",
        callback_id=REASON,
        title=title,
        submit=submit,
        close="Cancel",
        private_metadata=_metadata(
            {"p": post.id, "r": post.revision.number, "s": step, "v": verdict}
        ),
        blocks=[
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=f"Draft #{post.id}, revision {post.revision.number}: {excerpt(post)}"
                    )
                ]
            ),
            InputBlock(
                block_id="reason",
                label=question,
                hint="It is kept in the audit log.",
                element=PlainTextInputElement(
                    action_id="reason", multiline=True, max_length=TEXT_LIMIT, min_length=1
                ),
            ),
        ],
    )


def reschedule_modal(post: Post, timezone: str, now: datetime, from_home: bool = False) -> View:
    """A new publishing time for an approved, scheduled or held post, picked as a date and a
    time in the workflow file's time zone. Submitting runs the engine's Reschedule: no new
    approval, since the text and targets stay exactly as approved."""
    zone = ZoneInfo(timezone)
    start = (post.revision.scheduled_at or now).astimezone(zone)
    if post.state == PostState.HELD:
        status = f"Held: {escape(post.closing_reason or 'a human must decide')}."
    elif post.revision.scheduled_at:
        status = f"Goes out {when(post.revision.scheduled_at)}."
    else:
        status = "Goes out as soon as a worker picks it up."
    metadata: dict[str, object] = {"p": post.id, "r": post.revision.number}
    if from_home:
        metadata["h"] = 1
    return View(
        type="modal",
        callback_id=NEW_TIME,
        title=clip(f"Reschedule #{post.id}", 24),
        submit="Reschedule",
        close="Cancel",
        private_metadata=_metadata(metadata),
        blocks=[
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=f"Draft #{post.id}, revision {post.revision.number}, approved: "
                        f"{excerpt(post)}"
                    )
                ]
            ),
            SectionBlock(
                text=MarkdownTextObject(
                    text=f"{status}\nA new time needs no new approval: the text and targets stay "
                    "as approved. Changing them is a new revision, which goes through the "
                    "approval chain again."
                )
            ),
            InputBlock(
                block_id="date",
                label="Date",
                element=DatePickerElement(action_id="date", initial_date=f"{start:%Y-%m-%d}"),
            ),
            InputBlock(
                block_id="time",
                label="Time",
                hint=f"In {timezone}, the team's time zone.",
                element=TimePickerElement(
                    action_id="time", initial_time=f"{start:%H:%M}", timezone=timezone
                ),
            ),
        ],
    )


def _content_inputs(
    config: WorkflowFile,
    *,
    text: str,
    targets: tuple[str, ...],
    scheduled_at: datetime | None,
    campaign: str | None,
    urgent: bool,
) -> list:
    options = [_option(name) for name in config.targets][:100]
    urgent_option = Option(
        text="Urgent: reminders and escalations ignore quiet hours", value="urgent"
    )
    inputs: list = [
        InputBlock(
            block_id="text",
            label="Text of the post",
            element=PlainTextInputElement(
                action_id="text",
                multiline=True,
                max_length=TEXT_LIMIT,
                initial_value=text[:TEXT_LIMIT] or None,
            ),
        ),
        InputBlock(
            block_id="schedule",
            label="Publish at",
            optional=True,
            hint="Leave empty to publish as soon as it is approved.",
            element=DateTimePickerElement(
                action_id="schedule",
                initial_date_time=int(scheduled_at.timestamp()) if scheduled_at else None,
            ),
        ),
        InputBlock(
            block_id="campaign",
            label="Campaign",
            optional=True,
            element=PlainTextInputElement(
                action_id="campaign", max_length=150, initial_value=campaign or None
            ),
        ),
        InputBlock(
            block_id="urgent",
            label="Urgency",
            optional=True,
            hint="For a crisis: reminders and escalations go out even at night and at weekends.",
            element=CheckboxesElement(
                action_id="urgent",
                options=[urgent_option],
                initial_options=[urgent_option] if urgent else None,
            ),
        ),
    ]
    if options:
        inputs.insert(
            1,
            InputBlock(
                block_id="targets",
                label="Where it goes",
                optional=True,
                hint="Leave empty for the workflow's usual targets.",
                element=StaticMultiSelectElement(
                    action_id="targets",
                    options=options,
                    initial_options=[o for o in options if o.value in targets] or None,
                ),
            ),
        )
    return inputs
