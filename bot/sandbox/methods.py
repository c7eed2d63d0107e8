"""The Web API methods the emulator answers, each a function of (call context, arguments).

A handler returns the fields of a successful answer or raises `SlackError` with Slack's error
name. Arguments arrive as slack_sdk sends them: strings from a form or query string, or JSON
values; `blocks` and `view` may be JSON text in either case.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.sandbox.blockkit import message_block_errors, view_errors
from bot.sandbox.workspace import (
    Channel,
    EphemeralMessage,
    Message,
    ScheduledMessage,
    Team,
    User,
    View,
    Workspace,
)

MAX_TEXT = 40_000
MAX_SCHEDULE_AHEAD = 120 * 24 * 3600
MAX_VIEW_STACK = 3
APP_ID = "A0GREENLIGHT"


class SlackError(Exception):
    """An `{"ok": false, "error": ...}` answer; `extra` holds fields such as `errors`."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


@dataclass
class CallContext:
    workspace: Workspace
    team: Team
    now: float


Handler = Callable[[CallContext, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Method:
    handler: Handler
    required: tuple[str, ...]


METHODS: dict[str, Method] = {}


def method(name: str, *required: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        METHODS[name] = Method(handler, required)
        return handler

    return register


def missing_arguments(name: str, args: dict[str, Any]) -> list[str]:
    return [arg for arg in METHODS[name].required if args.get(arg) in (None, "")]


def invalid_arguments(*messages: str) -> SlackError:
    return SlackError(
        "invalid_arguments", response_metadata={"messages": [f"[ERROR] {m}" for m in messages]}
    )


# -- argument decoding -----------------------------------------------------------------


def _json_value(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _flag(args: dict[str, Any], name: str) -> bool:
    return str(args.get(name, "")).lower() in ("1", "true")


def _blocks(args: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The validated `blocks` argument, or None when absent."""
    if args.get("blocks") in (None, ""):
        return None
    try:
        blocks = _json_value(args["blocks"])
    except json.JSONDecodeError as exc:
        raise SlackError("invalid_blocks_format") from exc
    if not isinstance(blocks, list):
        raise SlackError("invalid_blocks_format")
    errors = message_block_errors(blocks)
    if errors:
        raise SlackError("invalid_blocks", errors=errors)
    return blocks


def _attachments(args: dict[str, Any]) -> list[dict[str, Any]] | None:
    if args.get("attachments") in (None, ""):
        return None
    try:
        attachments = _json_value(args["attachments"])
    except json.JSONDecodeError as exc:
        raise SlackError("invalid_attachments") from exc
    if not isinstance(attachments, list):
        raise SlackError("invalid_attachments")
    return attachments


@dataclass
class Content:
    text: str
    blocks: list[dict[str, Any]] | None
    attachments: list[dict[str, Any]] | None


def _content(args: dict[str, Any]) -> Content:
    """text / blocks / attachments with the checks chat.postMessage and friends share."""
    text = str(args.get("text") or "")
    if len(text) > MAX_TEXT:
        raise SlackError("msg_too_long")
    blocks = _blocks(args)
    attachments = _attachments(args)
    if not text and not blocks and not attachments:
        raise SlackError("no_text")
    if blocks:
        # Slack stores every block with a block_id, making one up when the app gave none.
        blocks = [{"block_id": uuid.uuid4().hex[:5], **block} for block in blocks]
    return Content(text, blocks, attachments)


def _view(args: dict[str, Any]) -> dict[str, Any]:
    try:
        view = _json_value(args["view"])
    except json.JSONDecodeError as exc:
        raise invalid_arguments("failed to parse view [json-pointer:/view]") from exc
    errors = view_errors(view)
    if errors:
        raise invalid_arguments(*errors)
    return view


# -- lookups ---------------------------------------------------------------------------


def _channel(ctx: CallContext, channel_id: str) -> Channel:
    """A conversation by id, by name (`#general` or `general`), or a user id (the DM)."""
    ws = ctx.workspace
    if channel_id in ws.users and ws.users[channel_id].team_id == ctx.team.id:
        return ws.dm_channel(ctx.team, channel_id)
    channel = ws.channels.get(channel_id)
    if channel is None:
        name = channel_id.removeprefix("#")
        channel = next((c for c in ws.channels.values() if c.name == name and not c.is_im), None)
    if channel is None or channel.team_id != ctx.team.id:
        raise SlackError("channel_not_found")
    return channel


def _writable_channel(ctx: CallContext, channel_id: str) -> Channel:
    channel = _channel(ctx, channel_id)
    if channel.is_archived:
        raise SlackError("is_archived")
    if ctx.team.bot_user_id not in channel.members:
        raise SlackError("not_in_channel")
    return channel


def _user(ctx: CallContext, user_id: str) -> User:
    user = ctx.workspace.users.get(user_id)
    if user is None or user.team_id != ctx.team.id:
        raise SlackError("user_not_found")
    return user


def _channel_object(ctx: CallContext, channel: Channel) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": channel.id,
        "name": channel.name,
        "is_channel": not (channel.is_private or channel.is_im or channel.is_mpim),
        "is_group": channel.is_private,
        "is_im": channel.is_im,
        "is_mpim": channel.is_mpim,
        "is_private": channel.is_private or channel.is_im or channel.is_mpim,
        "is_archived": channel.is_archived,
        "is_member": ctx.team.bot_user_id in channel.members,
        "context_team_id": channel.team_id,
    }
    if channel.is_im:
        out["user"] = channel.im_user
    return out


def _new_hash(ctx: CallContext) -> str:
    return f"{int(ctx.now)}.{uuid.uuid4().hex[:8]}"


def _view_answer(ctx: CallContext, view: View) -> dict[str, Any]:
    return {"view": view.to_api(APP_ID, ctx.team.bot_id)}


# -- auth, team, users -----------------------------------------------------------------


@method("auth.test")
def auth_test(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    team = ctx.team
    return {
        "url": f"https://{team.domain}.slack.com/",
        "team": team.name,
        "user": ctx.workspace.users[team.bot_user_id].name,
        "team_id": team.id,
        "user_id": team.bot_user_id,
        "bot_id": team.bot_id,
        "is_enterprise_install": False,
    }


@method("team.info")
def team_info(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    team = ctx.team
    if args.get("team") not in (None, "", team.id):
        raise SlackError("team_not_found")
    return {"team": {"id": team.id, "name": team.name, "domain": team.domain}}


@method("users.info", "user")
def users_info(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    user = _user(ctx, str(args["user"]))
    return {
        "user": {
            "id": user.id,
            "team_id": user.team_id,
            "name": user.name,
            "real_name": user.real_name,
            "deleted": user.deleted,
            "is_bot": user.is_bot,
            "tz": user.tz,
            "tz_label": user.tz_label,
            "tz_offset": user.tz_offset,
            "profile": {"real_name": user.real_name, "display_name": user.name},
        }
    }


@method("usergroups.users.list", "usergroup")
def usergroups_users_list(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    group = ctx.workspace.usergroups.get(str(args["usergroup"]))
    if group is None or group.team_id != ctx.team.id:
        raise SlackError("no_such_subteam")
    if group.disabled and not _flag(args, "include_disabled"):
        raise SlackError("no_such_subteam")
    return {"users": list(group.users)}


# -- conversations ---------------------------------------------------------------------


@method("conversations.open")
def conversations_open(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    if args.get("channel"):
        channel = _channel(ctx, str(args["channel"]))
        return {"channel": {"id": channel.id}}
    user_ids = [u.strip() for u in str(args.get("users") or "").split(",") if u.strip()]
    if not user_ids:
        raise SlackError("users_list_not_supplied")
    users = [_user(ctx, user_id) for user_id in user_ids]
    if len(users) == 1:
        return {"channel": {"id": ctx.workspace.dm_channel(ctx.team, users[0].id).id}}
    members = {u.id for u in users} | {ctx.team.bot_user_id}
    ws = ctx.workspace
    channel = next((c for c in ws.channels.values() if c.is_mpim and c.members == members), None)
    if channel is None:
        name = "mpdm-" + "--".join(sorted(u.name for u in users))
        channel = Channel(ws.new_id("G"), ctx.team.id, name, members, is_mpim=True)
        ws.channels[channel.id] = channel
        ws.messages[channel.id] = []
    return {"channel": {"id": channel.id}}


@method("conversations.info", "channel")
def conversations_info(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    return {"channel": _channel_object(ctx, _channel(ctx, str(args["channel"])))}


@method("conversations.join", "channel")
def conversations_join(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    channel = _channel(ctx, str(args["channel"]))
    if channel.is_private or channel.is_im or channel.is_mpim:
        raise SlackError("method_not_supported_for_channel_type")
    if channel.is_archived:
        raise SlackError("is_archived")
    answer: dict[str, Any] = {}
    if ctx.team.bot_user_id in channel.members:
        answer["warning"] = "already_in_channel"
    channel.members.add(ctx.team.bot_user_id)
    answer["channel"] = _channel_object(ctx, channel)
    return answer


# -- chat ------------------------------------------------------------------------------


@method("chat.postMessage")
def chat_post_message(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    if not args.get("channel"):
        raise SlackError("channel_not_found")
    channel = _writable_channel(ctx, str(args["channel"]))
    content = _content(args)
    message = Message(
        channel.id,
        ctx.workspace.new_ts(ctx.now),
        ctx.team.bot_user_id,
        content.text,
        content.blocks,
        content.attachments,
        thread_ts=args.get("thread_ts") or None,
        bot_id=ctx.team.bot_id,
    )
    ctx.workspace.messages[channel.id].append(message)
    return {"channel": channel.id, "ts": message.ts, "message": message.to_api()}


@method("chat.update", "channel", "ts")
def chat_update(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    channel = _channel(ctx, str(args["channel"]))
    message = ctx.workspace.find_message(channel.id, str(args["ts"]))
    if message is None:
        raise SlackError("message_not_found")
    if message.user != ctx.team.bot_user_id:
        raise SlackError("cant_update_message")
    if channel.is_archived:
        raise SlackError("is_inactive")
    content = _content(args)
    message.edits.append(
        {
            "text": message.text,
            "blocks": message.blocks,
            "attachments": message.attachments,
            "edited_ts": ctx.workspace.new_ts(ctx.now),
        }
    )
    message.text = content.text
    message.blocks = content.blocks
    message.attachments = content.attachments
    return {
        "channel": channel.id,
        "ts": message.ts,
        "text": message.text,
        "message": message.to_api(),
    }


@method("chat.postEphemeral", "channel", "user")
def chat_post_ephemeral(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    channel = _channel(ctx, str(args["channel"]))
    user = _user(ctx, str(args["user"]))
    if user.id not in channel.members:
        raise SlackError("user_not_in_channel")
    content = _content(args)
    ts = ctx.workspace.new_ts(ctx.now)
    ctx.workspace.ephemeral.append(
        EphemeralMessage(
            channel.id, user.id, ts, content.text, content.blocks, args.get("thread_ts") or None
        )
    )
    return {"message_ts": ts}


@method("chat.getPermalink", "channel", "message_ts")
def chat_get_permalink(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    channel = _channel(ctx, str(args["channel"]))
    message = ctx.workspace.find_message(channel.id, str(args["message_ts"]))
    if message is None:
        raise SlackError("message_not_found")
    link = (
        f"https://{ctx.team.domain}.slack.com/archives/{channel.id}/p{message.ts.replace('.', '')}"
    )
    if message.thread_ts and message.thread_ts != message.ts:
        link += f"?thread_ts={message.thread_ts}&cid={channel.id}"
    return {"channel": channel.id, "permalink": link}


@method("chat.scheduleMessage", "channel", "post_at")
def chat_schedule_message(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    channel = _writable_channel(ctx, str(args["channel"]))
    try:
        post_at = int(float(args["post_at"]))
    except ValueError as exc:
        raise SlackError("invalid_time") from exc
    if post_at <= ctx.now:
        raise SlackError("time_in_past")
    if post_at > ctx.now + MAX_SCHEDULE_AHEAD:
        raise SlackError("time_too_far")
    content = _content(args)
    scheduled = ScheduledMessage(
        ctx.workspace.new_id("Q"),
        channel.id,
        post_at,
        content.text,
        content.blocks,
        args.get("thread_ts") or None,
    )
    ctx.workspace.scheduled[scheduled.id] = scheduled
    message: dict[str, Any] = {"type": "delayed_message", "text": scheduled.text}
    message.update(user=ctx.team.bot_user_id, bot_id=ctx.team.bot_id)
    if scheduled.blocks is not None:
        message["blocks"] = scheduled.blocks
    return {
        "channel": channel.id,
        "scheduled_message_id": scheduled.id,
        "post_at": post_at,
        "message": message,
    }


@method("chat.deleteScheduledMessage", "channel", "scheduled_message_id")
def chat_delete_scheduled_message(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    channel = _channel(ctx, str(args["channel"]))
    scheduled = ctx.workspace.scheduled.get(str(args["scheduled_message_id"]))
    if scheduled is None or scheduled.channel != channel.id or scheduled.sent_ts is not None:
        raise SlackError("invalid_scheduled_message_id")
    del ctx.workspace.scheduled[scheduled.id]
    return {}


# -- views -----------------------------------------------------------------------------


def _use_trigger(ctx: CallContext, trigger_id: str) -> str:
    """The user a trigger_id belongs to, consuming it; Slack accepts each trigger once."""
    trigger = ctx.workspace.triggers.get(trigger_id)
    if trigger is None or trigger.team_id != ctx.team.id:
        raise SlackError("invalid_trigger_id")
    if trigger.used:
        raise SlackError("exchanged_trigger_id")
    if ctx.now > trigger.expires_at:
        raise SlackError("expired_trigger_id")
    trigger.used = True
    return trigger.user_id


def _modal(args: dict[str, Any]) -> dict[str, Any]:
    payload = _view(args)
    if payload.get("type") != "modal":
        raise invalid_arguments("must be modal [json-pointer:/view/type]")
    return payload


def _new_modal(ctx: CallContext, user_id: str, payload: dict[str, Any], root: str | None) -> View:
    external_id = payload.pop("external_id", None) or None
    if external_id and any(v.external_id == external_id for v in ctx.workspace.views.values()):
        raise SlackError("duplicate_external_id")
    view_id = ctx.workspace.new_id("V")
    view = View(
        view_id,
        ctx.team.id,
        user_id,
        payload,
        _new_hash(ctx),
        root or view_id,
        previous_view_id=ctx.workspace.modal_stacks.get(user_id, [None])[-1] if root else None,
        external_id=external_id,
    )
    ctx.workspace.views[view_id] = view
    return view


@method("views.open", "trigger_id", "view")
def views_open(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    payload = _modal(args)
    user_id = _use_trigger(ctx, str(args["trigger_id"]))
    view = _new_modal(ctx, user_id, payload, root=None)
    ctx.workspace.modal_stacks[user_id] = [view.id]
    return _view_answer(ctx, view)


@method("views.push", "trigger_id", "view")
def views_push(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    payload = _modal(args)
    user_id = _use_trigger(ctx, str(args["trigger_id"]))
    stack = ctx.workspace.modal_stacks.setdefault(user_id, [])
    if len(stack) >= MAX_VIEW_STACK:
        raise SlackError("push_limit_reached")
    view = _new_modal(ctx, user_id, payload, root=stack[0] if stack else None)
    stack.append(view.id)
    return _view_answer(ctx, view)


@method("views.update", "view")
def views_update(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    view_id, external_id = args.get("view_id"), args.get("external_id")
    if not view_id and not external_id:
        raise invalid_arguments("either view_id or external_id is required")
    payload = _view(args)
    views = ctx.workspace.views.values()
    view = next(
        (v for v in views if (v.id == view_id if view_id else v.external_id == external_id)),
        None,
    )
    if view is None or view.team_id != ctx.team.id:
        raise SlackError("not_found")
    if args.get("hash") and args["hash"] != view.hash:
        raise SlackError("hash_conflict")
    payload.pop("external_id", None)
    view.payload = payload
    view.hash = _new_hash(ctx)
    return _view_answer(ctx, view)


@method("views.publish", "user_id", "view")
def views_publish(ctx: CallContext, args: dict[str, Any]) -> dict[str, Any]:
    payload = _view(args)
    if payload.get("type") != "home":
        raise invalid_arguments("must be home [json-pointer:/view/type]")
    user = _user(ctx, str(args["user_id"]))
    home_id = ctx.workspace.home_tabs.get(user.id)
    current = ctx.workspace.views.get(home_id) if home_id else None
    if current is not None and args.get("hash") and args["hash"] != current.hash:
        raise SlackError("hash_conflict")
    if current is None:
        view_id = ctx.workspace.new_id("V")
        current = View(view_id, ctx.team.id, user.id, payload, _new_hash(ctx), view_id)
        ctx.workspace.views[view_id] = current
        ctx.workspace.home_tabs[user.id] = view_id
    else:
        current.payload = payload
        current.hash = _new_hash(ctx)
    return _view_answer(ctx, current)
