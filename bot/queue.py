"""`/greenlight queue` without reading, judging and rendering every waiting post each time.

A post's line and whether it waits for a given person depend on the post (every commit is a new
change, named by its audit id), on the person and the user groups they are in, and on the
workflow file (fixed for the life of the process). So each web process keeps, per post change,
the line and the judgements made so far; an answer then costs one Redis round trip (the waiting
ids with their last changes), and the posts that changed since are read and judged again.
Entries are also forgotten after `max_age` seconds, which bounds how long anything else the
judgement might read (an escalation) could be missed, like the directory's own cache does.

Who is away (whose posts a delegate sees) is read again after `away_max_age` seconds, and the
user groups a person is in are worked out again then (the directory is asked about every group
the workflow file names). Each person's last answer is kept too, and given again while no
transition was committed in the workspace since (its last change, checked in the same round
trip, says so) and the person stands for the same ids, until one of its lines turns overdue or
its oldest judgement expires.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from bot.views.messages import PostLine, post_line_parts
from workflows.engine import Engine
from workflows.rules import Context
from workflows.store import Store

_NEVER = datetime.max.replace(tzinfo=UTC)
_K = TypeVar("_K")
_V = TypeVar("_V")
Away = dict[str, dict[str, str | None]]  # user -> their absence, as `Store.away` gives it


@dataclass(frozen=True)
class _Answer:
    """A person's last answer: what it was made from, and until when it holds."""

    who: tuple[str, ...]  # the person and the ids they stand for
    limit: int
    last_change: str  # the workspace's last change when it was made (`Store.waiting_changes`)
    lines: tuple[str, ...]
    until: datetime  # the next time one of its lines turns overdue
    judged_until: float  # monotonic: when its oldest judgement expires (`max_age`)


@dataclass
class _Entry:
    line: PostLine
    born: float
    waits: dict[tuple[str, ...], bool] = field(default_factory=dict)  # approver ids -> judged


class QueueLines:
    """Per process, thread-safe: the lines of the posts waiting for a person, oldest first."""

    def __init__(
        self,
        size: int = 4096,
        max_age: float = 60.0,
        away_max_age: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.size, self.max_age, self.monotonic = size, max_age, monotonic
        self.away_max_age = away_max_age
        self._entries: OrderedDict[tuple[str, str, str], _Entry] = OrderedDict()
        self._away: dict[str, tuple[float, Away]] = {}
        self._ids: OrderedDict[tuple[str, str], tuple[float, Away, tuple[str, ...]]] = OrderedDict()
        self._answers: OrderedDict[tuple[str, str], _Answer] = OrderedDict()
        self._lock = threading.Lock()

    def lines(self, engine: Engine, user: str, now: datetime, limit: int = 50) -> list[str]:
        store = engine.store
        read_at, away = self._who_is_away(store, now)
        ctx = engine.context(away=away)
        who = self._approver_ids(engine, user, ctx, read_at, away)
        with self._lock:
            answer = self._answers.get((store.team, user))
        if answer is not None and (
            answer.who != who
            or answer.limit != limit
            or now >= answer.until
            or self.monotonic() >= answer.judged_until
        ):
            answer = None  # made for other ids or another limit, a line turned overdue, too old
        last_change, waiting = store.waiting_changes(
            list(who), limit, unless_last_change=None if answer is None else answer.last_change
        )
        if waiting is None:
            assert answer is not None
            return list(answer.lines)  # no transition since it was made
        found: dict[str, _Entry] = {}
        stale: list[str] = []
        oldest = self.monotonic() - self.max_age
        with self._lock:  # never held across a Redis call
            for post_id, change in waiting:
                entry = self._entries.get((store.team, post_id, change))
                if entry is None or entry.born < oldest or who not in entry.waits:
                    stale.append(post_id)
                else:
                    found[post_id] = entry
        changes = dict(waiting)
        for post in store.get_many(stale):
            waits = engine.waits_for(post, user, ctx)
            # Under the change the waiting list named: if the post moved on since, that key is
            # never asked for again (changes only move forward), and this one is read anew.
            key = (store.team, post.id, changes[post.id])
            with self._lock:
                entry = self._entries.get(key)
                if entry is None or entry.born < oldest:
                    entry = _Entry(post_line_parts(post), self.monotonic())
                entry.waits[who] = waits
                self._keep(self._entries, key, entry)
            found[post.id] = entry
        shown = [
            entry
            for post_id, _ in waiting
            if (entry := found.get(post_id)) is not None and entry.waits[who]
        ]
        lines = tuple(entry.line.render(now) for entry in shown)
        if last_change is None:  # nothing to tell a later change by: not kept
            return list(lines)
        answer = _Answer(
            who,
            limit,
            last_change,
            lines,
            min((t for e in shown if (t := e.line.turns_overdue(now))), default=_NEVER),
            min((e.born for e in found.values()), default=float("inf")) + self.max_age,
        )
        with self._lock:
            self._keep(self._answers, (store.team, user), answer)
        return list(lines)

    def _approver_ids(
        self, engine: Engine, user: str, ctx: Context, read_at: float, away: Away
    ) -> tuple[str, ...]:
        """`engine.approver_ids(user, ctx)` (the person, whom they stand in for, their groups),
        worked out again once who is away was read again or has changed."""
        key = (engine.store.team, user)
        with self._lock:
            made = self._ids.get(key)
        if made is not None and made[0] == read_at and made[1] == away:
            return made[2]
        who = tuple(engine.approver_ids(user, ctx))
        with self._lock:
            self._keep(self._ids, key, (read_at, away, who))
        return who

    def _keep(self, cache: OrderedDict[_K, _V], key: _K, value: _V) -> None:
        """`cache[key] = value` as the most recent, the oldest dropped beyond `size` (called
        with the lock held)."""
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > self.size:
            cache.popitem(last=False)

    def _who_is_away(self, store: Store, now: datetime) -> tuple[float, Away]:
        """When `store.away(now)` was last read (at most every `away_max_age` seconds per
        workspace), and the absences it lists that have not ended by `now`."""
        with self._lock:
            read_at, away = self._away.get(store.team, (float("-inf"), {}))
        if read_at < self.monotonic() - self.away_max_age:
            away, read_at = store.away(now), self.monotonic()
            with self._lock:
                self._away[store.team] = (read_at, away)
        ongoing = {u: s for u, s in away.items() if datetime.fromisoformat(str(s["ends_at"])) > now}
        return read_at, ongoing
