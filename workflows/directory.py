"""Who belongs to a user group. The chat side implements this (Slack: usergroups.users.list,
cached); the domain only asks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class Directory(Protocol):
    def members(self, usergroup: str) -> frozenset[str]:
        """User ids in the group now; an empty set for a group that does not exist."""
        ...


class StaticDirectory:
    """A fixed membership table, for the CLI, tests and benchmarks."""

    def __init__(self, groups: Mapping[str, set[str] | frozenset[str]] | None = None) -> None:
        self._groups = {g: frozenset(m) for g, m in (groups or {}).items()}

    def members(self, usergroup: str) -> frozenset[str]:
        return self._groups.get(usergroup, frozenset())
