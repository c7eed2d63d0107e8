"""User-group members and user profiles from Slack, cached in Redis for a short time, so a
click costs no Slack call while the cache is warm."""

from __future__ import annotations

import json
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from workflows.store import Store

CACHE_SECONDS = 300


class SlackDirectory:
    """The domain's `Directory`, answered by Slack (`usergroups.users.list`, `users.info`)."""

    def __init__(
        self,
        client: WebClient,
        store: Store,
        ttl: int = CACHE_SECONDS,
        before_slack_call: Callable[[], None] | None = None,
    ) -> None:
        """`before_slack_call` runs before each call to Slack (on a cache miss): a slash command
        that answers in its acknowledgement acknowledges then, so Slack never waits for Slack."""
        self.client = client
        self.store = store
        self.ttl = ttl
        self.before_slack_call = before_slack_call or (lambda: None)

    def members(self, usergroup: str) -> frozenset[str]:
        """A deleted group has no members: it approves nothing, and the card still names it."""
        return frozenset(self._group(usergroup) or ())

    def group_exists(self, usergroup: str) -> bool:
        return self._group(usergroup) is not None

    def _group(self, usergroup: str) -> list[str] | None:
        """The group's members; None when Slack says it does not exist (cached as `null`)."""
        cached = self.store.cache_get("usergroup", usergroup)
        if cached is not None:
            return json.loads(cached)
        self.before_slack_call()
        try:
            users: list[str] | None = sorted(
                self.client.usergroups_users_list(usergroup=usergroup)["users"]
            )
        except SlackApiError as exc:
            if exc.response.get("error") != "no_such_subteam":
                raise
            users = None
        self.store.cache_set("usergroup", usergroup, json.dumps(users), self.ttl)
        return users

    def user(self, user_id: str) -> dict | None:
        """The user's profile (`tz`, `deleted`, ...), or None when Slack does not know them."""
        cached = self.store.cache_get("user", user_id)
        if cached is not None:
            return json.loads(cached) or None
        self.before_slack_call()
        try:
            user = self.client.users_info(user=user_id)["user"]
            shown = (user.get("profile") or {}).get("display_name") or user.get("real_name")
            profile = {
                "id": user_id,
                "tz": user.get("tz"),
                "deleted": bool(user.get("deleted")),
                "name": shown or user.get("name"),
            }
        except SlackApiError as exc:
            if exc.response.get("error") != "user_not_found":
                raise
            profile = {}
        self.store.cache_set("user", user_id, json.dumps(profile), self.ttl)
        return profile or None

    def name(self, user_id: str) -> str | None:
        """The name the person shows in Slack (display name, else full name), if known."""
        return (self.user(user_id) or {}).get("name")

    def active(self, user_id: str) -> bool:
        profile = self.user(user_id)
        return bool(profile) and not profile["deleted"]
