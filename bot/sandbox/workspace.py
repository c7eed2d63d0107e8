"""The emulated Slack state: teams, users, usergroups, channels and what the bot put in them.

Plain dataclasses, no locking: the emulator serialises every access behind its own lock.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Team:
    id: str
    name: str
    domain: str
    bot_token: str
    bot_user_id: str
    bot_id: str


@dataclass
class User:
    id: str
    team_id: str
    name: str
    real_name: str = ""
    tz: str = "Europe/London"
    tz_label: str = "Greenwich Mean Time"
    tz_offset: int = 0
    deleted: bool = False
    is_bot: bool = False


@dataclass
class Usergroup:
    id: str
    team_id: str
    handle: str
    users: list[str] = field(default_factory=list)
    disabled: bool = False


@dataclass
class Channel:
    id: str
    team_id: str
    name: str
    members: set[str] = field(default_factory=set)
    is_private: bool = False
    is_im: bool = False
    is_mpim: bool = False
    is_archived: bool = False
    im_user: str | None = None


@dataclass
class Message:
    """A message as Slack stores it; `edits` keeps every earlier version, oldest first."""

    channel: str
    ts: str
    user: str
    text: str = ""
    blocks: list[dict[str, Any]] | None = None
    attachments: list[dict[str, Any]] | None = None
    thread_ts: str | None = None
    bot_id: str | None = None
    edits: list[dict[str, Any]] = field(default_factory=list)

    def to_api(self) -> dict[str, Any]:
        """The message object the Web API returns."""
        out: dict[str, Any] = {"type": "message", "ts": self.ts, "user": self.user}
        out["text"] = self.text
        if self.bot_id:
            out["bot_id"] = self.bot_id
        if self.blocks is not None:
            out["blocks"] = copy.deepcopy(self.blocks)
        if self.attachments is not None:
            out["attachments"] = copy.deepcopy(self.attachments)
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
        if self.edits:
            out["edited"] = {"user": self.user, "ts": self.edits[-1]["edited_ts"]}
        return out


@dataclass
class EphemeralMessage:
    channel: str
    user: str
    message_ts: str
    text: str
    blocks: list[dict[str, Any]] | None
    thread_ts: str | None


@dataclass
class ScheduledMessage:
    id: str
    channel: str
    post_at: int
    text: str
    blocks: list[dict[str, Any]] | None
    thread_ts: str | None
    sent_ts: str | None = None


@dataclass
class Trigger:
    """A trigger_id the emulator minted; views.open accepts it once, within its lifetime."""

    user_id: str
    team_id: str
    expires_at: float
    used: bool = False


@dataclass
class View:
    """A modal in a user's stack or a published Home tab."""

    id: str
    team_id: str
    user_id: str
    payload: dict[str, Any]
    hash: str
    root_view_id: str
    previous_view_id: str | None = None
    external_id: str | None = None

    @property
    def type(self) -> str:
        return str(self.payload.get("type"))

    def to_api(self, app_id: str, bot_id: str) -> dict[str, Any]:
        out = copy.deepcopy(self.payload)
        out.update(
            id=self.id,
            team_id=self.team_id,
            hash=self.hash,
            root_view_id=self.root_view_id,
            previous_view_id=self.previous_view_id,
            external_id=self.external_id or "",
            app_id=app_id,
            bot_id=bot_id,
            state={"values": {}},
        )
        for key in ("private_metadata", "callback_id"):
            out.setdefault(key, "")
        return out


class Workspace:
    """Everything the emulated Slack knows, configurable from Python.

    Ids are handed out from counters, so a run is reproducible. `app_token` is the app's
    app-level token: one for the app, whatever team it is installed in, as in Slack.
    """

    def __init__(self, *, app_token: str = "xapp-sandbox-token") -> None:
        self.app_token = app_token
        self.teams: dict[str, Team] = {}
        self.users: dict[str, User] = {}
        self.usergroups: dict[str, Usergroup] = {}
        self.channels: dict[str, Channel] = {}
        self.messages: dict[str, list[Message]] = {}
        self.ephemeral: list[EphemeralMessage] = []
        self.scheduled: dict[str, ScheduledMessage] = {}
        self.views: dict[str, View] = {}
        self.modal_stacks: dict[str, list[str]] = {}
        self.home_tabs: dict[str, str] = {}
        self.triggers: dict[str, Trigger] = {}
        self._counter = itertools.count(1)

    def new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._counter):08X}"

    def new_ts(self, now: float) -> str:
        """A message ts: seconds, then a sequence number that keeps every ts unique."""
        return f"{int(now)}.{next(self._counter):06d}"

    # -- configuration -------------------------------------------------------------------

    def add_team(
        self,
        team_id: str = "T0SANDBOX",
        *,
        name: str = "Sandbox",
        domain: str = "sandbox",
        bot_token: str = "xoxb-sandbox-token",
        bot_user_id: str = "U0GREENLIGHT",
        bot_id: str = "B0GREENLIGHT",
    ) -> Team:
        team = Team(team_id, name, domain, bot_token, bot_user_id, bot_id)
        self.teams[team_id] = team
        self.users[bot_user_id] = User(
            bot_user_id, team_id, "greenlight", "Greenlight", is_bot=True
        )
        return team

    def add_user(
        self,
        user_id: str,
        name: str | None = None,
        *,
        team_id: str | None = None,
        tz: str = "Europe/London",
        tz_offset: int = 0,
        tz_label: str | None = None,
        deleted: bool = False,
    ) -> User:
        user = User(
            user_id,
            self._team_id(team_id),
            name or user_id.lower(),
            real_name=name or user_id,
            tz=tz,
            tz_label=tz_label or tz,
            tz_offset=tz_offset,
            deleted=deleted,
        )
        self.users[user_id] = user
        return user

    def add_usergroup(
        self,
        usergroup_id: str,
        users: list[str],
        *,
        handle: str | None = None,
        team_id: str | None = None,
        disabled: bool = False,
    ) -> Usergroup:
        group = Usergroup(
            usergroup_id, self._team_id(team_id), handle or usergroup_id.lower(), users, disabled
        )
        self.usergroups[usergroup_id] = group
        return group

    def add_channel(
        self,
        channel_id: str,
        name: str | None = None,
        *,
        members: list[str] | tuple[str, ...] = (),
        bot_member: bool = True,
        is_private: bool = False,
        is_archived: bool = False,
        team_id: str | None = None,
    ) -> Channel:
        """A channel; the bot is a member unless `bot_member=False` (then posting fails)."""
        team = self.teams[self._team_id(team_id)]
        channel = Channel(
            channel_id,
            team.id,
            name or channel_id.lower(),
            set(members) | ({team.bot_user_id} if bot_member else set()),
            is_private=is_private,
            is_archived=is_archived,
        )
        self.channels[channel_id] = channel
        self.messages.setdefault(channel_id, [])
        return channel

    def post_user_message(
        self, channel_id: str, user_id: str, text: str, *, ts: str, thread_ts: str | None = None
    ) -> Message:
        """A message a person wrote (the bot cannot edit it: `cant_update_message`)."""
        message = Message(channel_id, ts, user_id, text, thread_ts=thread_ts)
        self.messages.setdefault(channel_id, []).append(message)
        return message

    def deliver_due(self, now: float) -> None:
        """Post every scheduled message whose time has come, as Slack would."""
        for scheduled in list(self.scheduled.values()):
            if scheduled.sent_ts is None and scheduled.post_at <= now:
                team = self.teams[self.channels[scheduled.channel].team_id]
                scheduled.sent_ts = self.new_ts(scheduled.post_at)
                message = Message(
                    scheduled.channel,
                    scheduled.sent_ts,
                    team.bot_user_id,
                    scheduled.text,
                    scheduled.blocks,
                    thread_ts=scheduled.thread_ts,
                    bot_id=team.bot_id,
                )
                self.messages[scheduled.channel].append(message)

    # -- lookups -------------------------------------------------------------------------

    def _team_id(self, team_id: str | None) -> str:
        if team_id is not None:
            return team_id
        if not self.teams:
            raise ValueError("add a team first")
        return next(iter(self.teams))

    def team_for_token(self, token: str) -> Team | None:
        return next((t for t in self.teams.values() if t.bot_token == token), None)

    def find_message(self, channel_id: str, ts: str) -> Message | None:
        return next((m for m in self.messages.get(channel_id, []) if m.ts == ts), None)

    def dm_channel(self, team: Team, user_id: str) -> Channel:
        """The bot's DM with a user, created on first use like conversations.open does."""
        for channel in self.channels.values():
            if channel.is_im and channel.im_user == user_id and channel.team_id == team.id:
                return channel
        members = {user_id, team.bot_user_id}
        channel = Channel(self.new_id("D"), team.id, user_id, members, is_im=True, im_user=user_id)
        self.channels[channel.id] = channel
        self.messages[channel.id] = []
        return channel
