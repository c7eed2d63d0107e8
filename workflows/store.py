"""Greenlight's state in Redis. This module owns the key layout and the scripts: nothing else
builds a key string.

Every key of a workspace carries the workspace id as a hash tag (`gl:{T123}:...`), so each
multi-key step of one workspace lands in one Redis Cluster slot.

| key | type | holds |
|---|---|---|
| `gl:{T}:seq` | string | last post number handed out |
| `gl:{T}:post:{id}` | hash | `v` version, `doc` the post (JSON), `at` its last audit id |
| `gl:{T}:post:{id}:audit` | stream | the post's audit trail |
| `gl:{T}:post:{id}:messages` | set | where the chat side showed the post (`channel ts`) |
| `gl:{T}:audit` | stream | every audit entry of the workspace (recent activity) |
| `gl:{T}:src:{key}` | string | post id created from a chat event (deduplicates retries) |
| `gl:{T}:state:{state}` | zset | post ids by state, scored by when they entered it |
| `gl:{T}:author:{user}` | zset | post ids by author, scored by creation |
| `gl:{T}:waiting:{id}` | zset | posts a user/group decides now (escalations too), by wait start |
| `gl:{T}:due` | zset | approved posts by the time they should go out |
| `gl:{T}:freeze` | hash | who froze publishing, when and why (absent: not frozen) |
| `gl:{T}:last_change` | string | audit id of the last transition (posts' versions, indexes) |
| `gl:{T}:cache:{kind}:{id}` | string | chat-side lookups (user groups, users), short TTL |
| `gl:{T}:leases` | zset | posts a worker holds, by lease end (ms) |
| `gl:{T}:lease_tokens` | hash | post id -> fencing token of its current claim |
| `gl:{T}:fence` | string | last fencing token handed out |
| `gl:{T}:nudges` | zset | posts in review by when a worker next reminds, escalates or DMs |
| `gl:{T}:post:{id}:reminded` | hash | `rev:step:user` -> last reminder round; `…:user:kind` |
| `gl:{T}:away` | hash | user -> JSON `{until, ends_at, delegate}` while away |
| `gl:{T}:reported:{what}` | string | a problem already told to admins (expires) |
| `gl:{T}:stale_cards` | set | posts whose chat messages missed an update while Slack was down |
| `gl:{T}:stats:{day}` | hash | the day's (UTC) approval counters, see `workflows.analytics` |
| `gl:{T}:digest:{digest}:{date}` | string | one local date's send: claimed, sent or failed |
| `gl:{T}:digest:{digest}:{date}:dm:{user}` | string | that day's personal digest went to the user |
| `gl:{T}:digest:{digest}:{date}:unfinished` | string | DMs Slack cut short: JSON problems so far |
| `gl:{T}:digest:{digest}:last` | string | when the digest last went out ("since the last digest") |
| `gl:{T}:digest:{digest}:unsent` | hash | days Slack refused: date → first refusal (for admins) |
| `gl:{T}:audit_trimmed` | string | the audit stream was trimmed within the hour (expires) |
| `gl:workspaces` | set | workspaces with posts: what workers walk (no hash tag) |
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.resources import files
from typing import NamedTuple
from weakref import WeakKeyDictionary

import redis
from redis.commands.core import Script

from workflows.models import FINISHED, Post, PostState
from workflows.outcomes import Event
from workflows.reminders import first_nudge_at

_TRANSITION = files("workflows").joinpath("transition.lua").read_text(encoding="utf-8")
_CLAIM = files("workflows").joinpath("claim.lua").read_text(encoding="utf-8")
_RELEASE = """
for i = 1, #ARGV, 2 do
  if redis.call('HGET', KEYS[2], ARGV[i]) == ARGV[i + 1] then
    redis.call('ZREM', KEYS[1], ARGV[i])
    redis.call('HDEL', KEYS[2], ARGV[i])
  end
end
"""  # KEYS: leases, lease tokens; ARGV: post id, token, post id, token, ...
_CLAIM_NUDGES = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(ids) do redis.call('ZADD', KEYS[1], ARGV[3], id) end
return ids
"""  # KEYS: nudges; ARGV: now, how many, lease end: due posts move to the lease end
_RESCORE_NUDGE = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) ~= tonumber(ARGV[2]) then return 0 end
if ARGV[3] == '' then redis.call('ZREM', KEYS[1], ARGV[1])
else redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1]) end
return 1
"""  # KEYS: nudges; ARGV: post id, lease end of our claim, next score ('' : none)
_CLAIM_REMINDER = """
local sent = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if sent >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""  # KEYS: reminded hash; ARGV: revision:step:user, round, ttl
_UNCLAIM_REMINDER = """
if tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') == tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], ARGV[1], tonumber(ARGV[2]) - 1)
end
redis.call('ZADD', KEYS[2], 'LT', ARGV[3], ARGV[4])
return 1
"""  # KEYS: reminded hash, nudges; ARGV: revision:step:user, round, retry score, post id
#: Every workspace that ever had a post: workers walk it to find due posts. (The one key
#: outside a workspace's hash tag.)
WORKSPACES = "gl:workspaces"
#: The consumer group that turns audit entries into chat notifications (cards, DMs).
NOTIFIERS = "notifiers"
#: The consumer group that turns audit entries into approval counters (`workflows.analytics`).
ANALYTICS = "analytics"
#: Acknowledge each entry and add its counts in one step, only if this call acknowledged it:
#: a reclaimed entry another worker already counted adds nothing.
#: KEYS[1] audit stream, KEYS[2..] day hashes; ARGV[1] group, ARGV[2] ttl seconds,
#: ARGV[3] JSON [[entry id, key position, {field: n}], ...]
_COUNT = """
for _, item in ipairs(cjson.decode(ARGV[3])) do
  if redis.call('XACK', KEYS[1], ARGV[1], item[1]) == 1 then
    local key = KEYS[item[2]]
    for name, n in pairs(item[3]) do redis.call('HINCRBY', key, name, n) end
    redis.call('EXPIRE', key, ARGV[2])
  end
end
"""
#: KEYS[1] is the workspace's last change (see transition.lua), KEYS[2..] waiting sets. Returns
#: {last} alone when the last change is still ARGV[3] (the one the caller saw: nothing changed
#: since), else {last, id, change, id, change, ...}: the posts waiting in any of the sets,
#: oldest first, ties by id, at most ARGV[1], with the audit id of each post's last transition
#: (its version when written before those were kept; false: expired). ARGV[2]
#: is the workspace's post key prefix (its hash tag keeps the posts in the same Redis Cluster
#: slot). The last change is false (nil) in a workspace without one (yet, or any more).
_WAITING = """
local last = redis.call('GET', KEYS[1])
if last and last == ARGV[3] then return {last} end
local limit, ids = tonumber(ARGV[1]), {}
if #KEYS == 2 then  -- one set: already in that order, and no scores to format
  ids = redis.call('ZRANGE', KEYS[2], 0, limit - 1)
else
  local oldest = {}
  for k = 2, #KEYS do
    local rows = redis.call('ZRANGE', KEYS[k], 0, limit - 1, 'WITHSCORES')
    for i = 1, #rows, 2 do
      local id, score = rows[i], tonumber(rows[i + 1])
      if oldest[id] == nil then ids[#ids + 1] = id end
      if oldest[id] == nil or score < oldest[id] then oldest[id] = score end
    end
  end
  table.sort(ids, function(a, b)
    if oldest[a] ~= oldest[b] then return oldest[a] < oldest[b] end
    return a < b
  end)
end
local out = {last}
for i = 1, math.min(#ids, limit) do
  out[#out + 1] = ids[i]
  local post = ARGV[2] .. ids[i]
  out[#out + 1] = redis.call('HGET', post, 'at') or redis.call('HGET', post, 'v') or false
end
return out
"""
#: Days of counters kept: enough for a week's numbers and a margin.
STATS_DAYS = 35


class Keys:
    """Key names of one workspace."""

    def __init__(self, team: str) -> None:
        if not team or any(c in team for c in "{}: "):
            raise ValueError(f"invalid workspace id {team!r}")
        self.prefix = f"gl:{{{team}}}:"
        self.seq = self.prefix + "seq"
        self.audit = self.prefix + "audit"
        self.due = self.prefix + "due"
        self.freeze = self.prefix + "freeze"
        self.last_change = self.prefix + "last_change"
        self.leases = self.prefix + "leases"
        self.lease_tokens = self.prefix + "lease_tokens"
        self.fence = self.prefix + "fence"
        self.trimmed = self.prefix + "audit_trimmed"
        self.nudges = self.prefix + "nudges"
        self.away = self.prefix + "away"
        self.stale_cards = self.prefix + "stale_cards"

    def post(self, post_id: str) -> str:
        return f"{self.prefix}post:{post_id}"

    def post_audit(self, post_id: str) -> str:
        return f"{self.prefix}post:{post_id}:audit"

    def post_messages(self, post_id: str) -> str:
        return f"{self.prefix}post:{post_id}:messages"

    def stats(self, day: str) -> str:
        return f"{self.prefix}stats:{day}"

    def digest(self, digest: str, suffix: str) -> str:
        return f"{self.prefix}digest:{digest}:{suffix}"

    def cache(self, kind: str, item: str) -> str:
        return f"{self.prefix}cache:{kind}:{item}"

    def source(self, source_key: str) -> str:
        return f"{self.prefix}src:{source_key}"

    def state(self, state: PostState | str) -> str:
        return f"{self.prefix}state:{state}"

    def author(self, user: str) -> str:
        return f"{self.prefix}author:{user}"

    def waiting(self, approver: str) -> str:
        return f"{self.prefix}waiting:{approver}"

    def reminded(self, post_id: str) -> str:
        return f"{self.prefix}post:{post_id}:reminded"

    def reported(self, what: str) -> str:
        return f"{self.prefix}reported:{what}"


class Claim(NamedTuple):
    """A due post this worker holds: its fencing token, and the post as it was when claimed
    (None: it expired meanwhile)."""

    post_id: str
    token: int
    post: Post | None


@dataclass(frozen=True)
class Committed:
    audit_id: str


@dataclass(frozen=True)
class Duplicate:
    """A post was already created from the same source (a chat retry)."""

    post_id: str


class Conflict:
    """Someone else changed the post since it was read: read again and retry."""


class Frozen:
    """Publishing is frozen for one of the targets the transition would start."""


#: Registered scripts per Redis client: a Store is made per request, and registering hashes
#: every script each time.
_SCRIPTS: WeakKeyDictionary[redis.Redis, tuple[Script, ...]] = WeakKeyDictionary()


def _scripts_for(client: redis.Redis) -> tuple[Script, ...]:
    scripts = _SCRIPTS.get(client)
    if scripts is None:
        sources = (_TRANSITION, _CLAIM, _RELEASE, _CLAIM_NUDGES, _RESCORE_NUDGE, _CLAIM_REMINDER)
        extra = (_COUNT, _WAITING, _UNCLAIM_REMINDER)
        scripts = tuple(client.register_script(s) for s in (*sources, *extra))
        _SCRIPTS[client] = scripts
    return scripts


class Store:
    """One workspace's posts, indexes and audit log."""

    def __init__(self, client: redis.Redis, team: str, *, retention_days: int = 90) -> None:
        self.redis = client
        self.team = team
        self.keys = Keys(team)
        self.retention_seconds = retention_days * 86400
        scripts = _scripts_for(client)
        self._transition, self._claim, self._release = scripts[:3]
        self._claim_nudges, self._rescore_nudge, self._claim_reminder = scripts[3:6]
        self._count, self._waiting, self._unclaim_reminder = scripts[6:]

    # -- writes ------------------------------------------------------------------------------

    def next_id(self) -> str:
        pipe = self.redis.pipeline(transaction=False)
        pipe.incr(self.keys.seq)
        pipe.sadd(WORKSPACES, self.team)
        # Before the workspace's first audit entry, so the groups see every one of them.
        pipe.xgroup_create(self.keys.audit, NOTIFIERS, id="$", mkstream=True)
        pipe.xgroup_create(self.keys.audit, ANALYTICS, id="$", mkstream=True)
        replies = pipe.execute(raise_on_error=False)
        for reply in replies[2:]:
            if isinstance(reply, Exception) and "BUSYGROUP" not in str(reply):
                raise reply
        return str(replies[0])

    # -- notifications: audit entries consumed by workers ------------------------------------

    def unread_audit(
        self,
        consumer: str,
        count: int = 100,
        reclaim_after_ms: int = 60_000,
        group: str = NOTIFIERS,
    ) -> list[dict[str, str]]:
        """Audit entries `group` has not handled: first those a dead consumer left pending
        for `reclaim_after_ms`, then new ones. Call `ack_audit` once handled."""
        k = self.keys
        try:
            reclaimed = self.redis.xautoclaim(
                k.audit, group, consumer, reclaim_after_ms, "0-0", count=count
            )[1]
            fresh = self.redis.xreadgroup(group, consumer, {k.audit: ">"}, count=count)
        except redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            if group != ANALYTICS or not self.redis.exists(k.audit):
                return []  # a workspace from before notifications, or none yet
            # A workspace from before analytics existed: count its whole history once.
            self.redis.xgroup_create(k.audit, ANALYTICS, id="0")
            return self.unread_audit(consumer, count, reclaim_after_ms, group)
        rows = list(reclaimed) + [row for _, entries in fresh for row in entries]
        return [
            {"id": _text(i), **{_text(f): _text(v) for f, v in fields.items()}}
            for i, fields in rows
            if fields
        ]

    def ack_audit(self, entry_ids: list[str]) -> None:
        if entry_ids:
            self.redis.xack(self.keys.audit, NOTIFIERS, *entry_ids)

    def audit_deliveries(self, entry_ids: list[str]) -> dict[str, int]:
        """How many times each of these pending entries was handed to a notifier (one round
        trip); an entry no longer pending is left out."""
        pipe = self.redis.pipeline(transaction=False)
        for entry_id in entry_ids:
            pipe.xpending_range(self.keys.audit, NOTIFIERS, entry_id, entry_id, 1)
        return {
            _text(row["message_id"]): int(row["times_delivered"])
            for rows in pipe.execute()
            for row in rows
        }

    def count_audit(self, counted: list[tuple[str, str, dict[str, int]]]) -> None:
        """Acknowledge analytics entries and add their counts: (entry id, UTC day, counts)."""
        if not counted:
            return
        days = sorted({day for _, day, _ in counted})
        position = {day: i + 2 for i, day in enumerate(days)}
        items = [[entry_id, position[day], counts or {}] for entry_id, day, counts in counted]
        self._count(
            keys=[self.keys.audit, *(self.keys.stats(d) for d in days)],
            args=[ANALYTICS, STATS_DAYS * 86400, json.dumps(items)],
        )

    def day_counts(self, days: list[str]) -> list[dict[str, int]]:
        pipe = self.redis.pipeline(transaction=False)
        for day in days:
            pipe.hgetall(self.keys.stats(day))
        return [{_text(k): int(v) for k, v in h.items()} for h in pipe.execute()]

    # -- digests -----------------------------------------------------------------------------

    def claim_digest(self, digest: str, date: str, worker: str, lease_seconds: float) -> bool:
        """Take the send of `digest` for local `date`; False when another worker holds it or it
        was already sent. A claim whose worker died lapses after the lease."""
        key = self.keys.digest(digest, date)
        return bool(self.redis.set(key, f"sending {worker}", nx=True, px=int(lease_seconds * 1000)))

    def digest_done(self, digest: str, date: str, outcome: str, at: datetime) -> None:
        """Record how the day's send ended (`sent`, or what failed): never sent again that day."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.hdel(self.keys.digest(digest, "unsent"), date)
        pipe.set(self.keys.digest(digest, date), f"{outcome} {at.isoformat()}", ex=8 * 86400)
        if outcome == "sent":
            pipe.set(self.keys.digest(digest, "last"), at.isoformat())
        pipe.execute()

    def digest_unsent(self, digest: str, date: str, at: datetime) -> None:
        """Slack refused the day's send (down or busy): kept until the day is sent, or until
        it is no longer due and the admins are told (`take_unsent_digest`)."""
        key = self.keys.digest(digest, "unsent")
        pipe = self.redis.pipeline(transaction=True)
        pipe.hsetnx(key, date, at.isoformat())
        pipe.expire(key, 8 * 86400)  # a digest removed from the workflow file leaves nothing
        pipe.execute()

    def skip_digest(self, digest: str, date: str) -> bool:
        """Mark a day that is no longer due as skipped, so it can never be sent. False when a
        worker holds its claim (still sending) or its end was recorded."""
        key = self.keys.digest(digest, date)
        if self.redis.set(key, "skipped", nx=True, ex=8 * 86400):
            return True
        value = self.redis.get(key)
        return value is not None and _text(value) == "skipped"

    def digest_leftovers(
        self, digest: str, date: str | None
    ) -> tuple[dict[str, datetime], list[str] | None]:
        """What earlier passes left, in one round trip: the local dates whose send Slack refused
        and nobody sent since (with the first refusal), and, when this worker took the personal
        DMs of `date` that Slack failed during (`digest_unfinished`) to send them, the problems
        found before it failed (None when there is nothing to take)."""
        pipe = self.redis.pipeline(transaction=True)  # one worker takes the unfinished DMs
        pipe.hgetall(self.keys.digest(digest, "unsent"))
        if date is not None:
            unfinished = self.keys.digest(digest, f"{date}:unfinished")
            pipe.get(unfinished)
            pipe.delete(unfinished)
        days, *taken = pipe.execute()
        unsent = {_text(d): datetime.fromisoformat(_text(at)) for d, at in days.items()}
        if not taken or taken[0] is None:
            return unsent, None
        problems = json.loads(taken[0])
        return unsent, problems if isinstance(problems, list) else []

    def take_unsent_digest(self, digest: str, date: str) -> bool:
        """True for the one worker that takes the unsent day to report it."""
        return bool(self.redis.hdel(self.keys.digest(digest, "unsent"), date))

    def last_digest(self, digest: str) -> datetime | None:
        value = self.redis.get(self.keys.digest(digest, "last"))
        return None if value is None else datetime.fromisoformat(_text(value))

    def claim_personal_digest(self, digest: str, date: str, user: str) -> bool:
        """Whether the user's personal digest of that date is still to be sent (now claimed)."""
        key = self.keys.digest(digest, f"{date}:dm:{user}")
        return bool(self.redis.set(key, "1", nx=True, ex=2 * 86400))

    def unclaim_personal_digest(self, digest: str, date: str, user: str) -> None:
        """The DM did not go (Slack unavailable): a later pass may send it."""
        self.redis.delete(self.keys.digest(digest, f"{date}:dm:{user}"))

    def digest_unfinished(self, digest: str, date: str, problems: list[str]) -> None:
        """The day's channel post went out, but Slack failed during the personal DMs; the
        `problems` found so far are told to the admins by the pass that finishes them."""
        key = self.keys.digest(digest, f"{date}:unfinished")
        self.redis.set(key, json.dumps(problems), ex=2 * 86400)

    # -- claims (the scheduler) ----------------------------------------------------------------

    def claim_due(self, now: datetime, limit: int, lease_seconds: float) -> list[Claim]:
        """Take up to `limit` due posts for this worker, each with its fencing token and the
        post as stored (one round trip)."""
        k = self.keys
        reply = self._claim(
            keys=[k.due, k.leases, k.lease_tokens, k.fence],
            args=[
                now.timestamp(),
                int(now.timestamp() * 1000),
                limit,
                int(lease_seconds * 1000),
                k.post(""),
            ],
        )
        return [
            Claim(_text(reply[i]), int(reply[i + 1]), _decode(reply[i + 2], reply[i + 3]))
            for i in range(0, len(reply), 4)
        ]

    def lease_token(self, post_id: str) -> int | None:
        value = self.redis.hget(self.keys.lease_tokens, post_id)
        return None if value is None else int(value)

    def release(self, post_id: str, token: int) -> None:
        """Drop our lease, unless another claim replaced it meanwhile (one round trip)."""
        self._release(keys=[self.keys.leases, self.keys.lease_tokens], args=[post_id, token])

    def release_many(self, claims: list[Claim]) -> None:
        """`release` of each claim, in one round trip."""
        args = [item for claim in claims for item in (claim.post_id, claim.token)]
        self._release(keys=[self.keys.leases, self.keys.lease_tokens], args=args)

    def expired_leases(self, now: datetime, limit: int = 100) -> list[str]:
        ms = int(now.timestamp() * 1000)
        return _ids(self.redis.zrangebyscore(self.keys.leases, "-inf", ms, 0, limit))

    def ids_claimed(self) -> list[str]:
        """Posts a worker holds a lease on."""
        return _ids(self.redis.zrange(self.keys.leases, 0, -1))

    def requeue(self, post_id: str, due: datetime) -> None:
        self.redis.zadd(self.keys.due, {post_id: due.timestamp()})

    def commit(
        self,
        old: Post | None,
        new: Post,
        event: Event,
        source_key: str | None = None,
        starts_publishing: tuple[str, ...] = (),
    ) -> Committed | Duplicate | Conflict | Frozen:
        """Write `new` if the stored post is still `old` (None: must not exist), in one step;
        refused (`Frozen`) when it starts publishing to a target a freeze covers."""
        return self._commit(
            [self._transition_call(old, new, event, source_key, starts_publishing)]
        )[0]

    def commit_many(
        self, changes: list[tuple[Post, Post, Event, tuple[str, ...]]]
    ) -> list[Committed | Duplicate | Conflict | Frozen]:
        """`commit(old, new, event, starts_publishing=...)` for each change, in one round trip
        (not a transaction: each change is still one atomic step, checked alone)."""
        if not changes:
            return []
        return self._commit(
            [
                self._transition_call(old, new, event, None, starts_publishing)
                for old, new, event, starts_publishing in changes
            ]
        )

    def _commit(
        self, calls: list[tuple[list[str], list[object]]]
    ) -> list[Committed | Duplicate | Conflict | Frozen]:
        """One call of `transition.lua` for a batch of (keys, arguments)."""
        keys: list[str] = []
        args: list[object] = []
        for call_keys, call_args in calls:
            keys += call_keys
            args += [len(call_keys), len(call_args), *call_args]
        return [_commit_result(reply) for reply in self._transition(keys=keys, args=args)]

    def _transition_call(
        self,
        old: Post | None,
        new: Post,
        event: Event,
        source_key: str | None,
        starts_publishing: tuple[str, ...],
    ) -> tuple[list[str], list[object]]:
        """The keys and arguments of `transition.lua` for one change (sets `new.version`)."""
        k = self.keys
        expected = old.version if old else 0
        new.version = expected + 1
        before = _index_entries(old, k) if old else {}
        after = _index_entries(new, k)
        # (index key, op, value): the script applies each op to the post id in that key.
        ops = [(key, "zrem", "") for key in before if key not in after]
        # A post keeps its score in a set it stays in (the time it entered that state, step or
        # authorship); only the due time can move while the post stays due, and the next nudge
        # when the step changes (otherwise workers re-score it as they remind).
        ops += [
            (key, "zadd", repr(score))
            for key, score in after.items()
            if key not in before or (key in (k.due, k.nudges) and before[key] != score)
        ]
        finished = new.state in FINISHED
        if finished:
            cutoff = new.updated_at.timestamp() - self.retention_seconds
            ops.append((k.state(new.state), "trim", repr(cutoff)))
        keys = [
            k.post(new.id),
            k.post_audit(new.id),
            k.audit,
            k.source(source_key) if source_key else k.post(new.id),
            k.post_messages(new.id),
            k.freeze,
            k.last_change,
        ]
        args: list[object] = [
            expected,
            new.version,
            new.model_dump_json(),
            new.id,
            self.retention_seconds if finished else 0,
            "1" if source_key else "0",
            json.dumps(list(starts_publishing)) if starts_publishing else "",
            len(ops),
        ]
        for key, op, value in ops:
            keys.append(key)
            args += (op, value)
        for field, value in event.audit_fields().items():
            args += (field, value)
        return keys, args

    def remember_message(self, post_id: str, channel: str, ts: str) -> None:
        """Record a chat message showing the post, so every copy can be updated later."""
        key = self.keys.post_messages(post_id)
        pipe = self.redis.pipeline(transaction=False)
        pipe.sadd(key, f"{channel} {ts}")
        pipe.ttl(self.keys.post(post_id))
        ttl = pipe.execute()[1]
        if ttl > 0:  # the post has finished: this set goes with it
            self.redis.expire(key, ttl)

    def set_freeze(
        self, actor: str, reason: str, at: datetime, targets: tuple[str, ...] = ()
    ) -> str:
        """Freeze publishing to `targets` (none named: every target); audited."""
        state = {
            "by": actor,
            "reason": reason,
            "at": at.isoformat(),
            "targets": json.dumps(list(targets)),
        }
        return self._freeze_change(state, "freeze", actor, reason, at)

    def clear_freeze(self, actor: str, at: datetime) -> str:
        return self._freeze_change(None, "unfreeze", actor, "", at)

    def _freeze_change(
        self, state: dict[str, str] | None, action: str, actor: str, reason: str, at: datetime
    ) -> str:
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(self.keys.freeze)
        if state:
            pipe.hset(self.keys.freeze, mapping=state)
        fields = {"action": action, "actor": actor, "at": at.isoformat()}
        if reason:
            fields["reason"] = reason
        pipe.xadd(self.keys.audit, fields)
        return _text(pipe.execute()[-1])

    def cache_get(self, kind: str, item: str) -> str | None:
        value = self.redis.get(self.keys.cache(kind, item))
        return None if value is None else _text(value)

    def cache_set(self, kind: str, item: str, value: str, ttl_seconds: int) -> None:
        self.redis.set(self.keys.cache(kind, item), value, ex=ttl_seconds)

    # -- reminders, escalation and delegation ------------------------------------------------

    def claim_nudges(
        self, now: datetime, limit: int, lease_seconds: float
    ) -> tuple[list[str], float]:
        """Posts whose next reminder or escalation is due, taken for `lease_seconds`: they move
        to the lease's end, so no other worker takes them meanwhile. Returns the ids and the
        lease end, which `rescore_nudge` needs."""
        lease_end = now.timestamp() + lease_seconds
        ids = self._claim_nudges(keys=[self.keys.nudges], args=[now.timestamp(), limit, lease_end])
        return _ids(ids), lease_end

    def rescore_nudge(self, post_id: str, lease_end: float, when: datetime | None) -> bool:
        """Set the post's next nudge (None: none left), unless a transition moved it since our
        claim (a new step has its own first nudge; a decided step has none)."""
        score = repr(when.timestamp()) if when else ""
        return bool(
            self._rescore_nudge(keys=[self.keys.nudges], args=[post_id, repr(lease_end), score])
        )

    def nudge_at(self, post_id: str) -> datetime | None:
        score = self.redis.zscore(self.keys.nudges, post_id)
        return None if score is None else datetime.fromtimestamp(score, UTC)

    def claim_reminder(
        self, post_id: str, revision: int, step: int, user: str, round_: int
    ) -> bool:
        """True once per person and reminder round of a step (then send it): however many
        workers try, and however often quiet hours deferred it."""
        field = f"{revision}:{step}:{user}"
        return bool(
            self._claim_reminder(
                keys=[self.keys.reminded(post_id)],
                args=[field, round_, self.retention_seconds],
            )
        )

    def unclaim_reminder(
        self, post_id: str, revision: int, step: int, user: str, round_: int, retry: datetime
    ) -> None:
        """The round's DM did not go (Slack unavailable): it is handed back (unless a later
        round was claimed meanwhile) and the post is due by `retry`, in one write, so a worker
        whose lease ran out while Slack hung still has it tried again."""
        self._unclaim_reminder(
            keys=[self.keys.reminded(post_id), self.keys.nudges],
            args=[f"{revision}:{step}:{user}", round_, retry.timestamp(), post_id],
        )

    def claim_dm(self, post_id: str, revision: int, step: int, user: str, kind: str) -> bool:
        """True once per person, step and `kind` of message ("escalation"; "request", a step's
        request to decide; "submitted" or "step_started", the author's notice as the step
        starts) however many workers or notifiers try: then send it."""
        return self.claim_reminder(post_id, revision, step, f"{user}:{kind}", 1)

    def dm_waits(
        self,
        post_id: str,
        revision: int,
        step: int,
        user: str,
        kind: str,
        until: datetime,
        unclaim: bool = False,
    ) -> None:
        """The person's message of `kind` (a DM, or the author's notice) waits (for their quiet
        hours to end, or for Slack) and the post is due by `until` (`nudge_by`), for a worker
        to send it (`waiting_dms`). Nothing changes once the message was claimed, unless
        `unclaim`: Slack could not take it."""
        key, field = self.keys.reminded(post_id), f"{revision}:{step}:{user}:{kind}"
        pipe = self.redis.pipeline(transaction=True)
        if unclaim:
            pipe.hset(key, field, 0)
        else:
            pipe.hsetnx(key, field, 0)
        pipe.expire(key, self.retention_seconds)
        pipe.zadd(self.keys.nudges, {post_id: until.timestamp()}, lt=True)
        pipe.execute()

    def waiting_dms(self, post_id: str, revision: int, step: int) -> dict[str, list[str]]:
        """The people whose messages of this step still wait, by kind (see `dm_waits`)."""
        prefix, waiting = f"{revision}:{step}:", {}
        for raw, sent in self.redis.hgetall(self.keys.reminded(post_id)).items():
            field = _text(raw)
            if field.startswith(prefix) and _text(sent) == "0" and field.count(":") == 3:
                user, kind = field[len(prefix) :].split(":")
                waiting.setdefault(kind, []).append(user)
        return {kind: sorted(users) for kind, users in waiting.items()}

    def nudge_by(self, post_id: str, when: datetime) -> None:
        """Make sure a worker looks at the post by `when` (sooner if already due sooner)."""
        self.redis.zadd(self.keys.nudges, {post_id: when.timestamp()}, lt=True)

    def report_once(self, what: str, ttl_seconds: int = 86400) -> bool:
        """True the first time `what` is reported within `ttl_seconds`: a problem told to the
        admins, an answer under an intake message (not again for Slack's retry of its event)."""
        return bool(self.redis.set(self.keys.reported(what), "1", nx=True, ex=ttl_seconds))

    def unreport(self, what: str) -> None:
        """The report of `what` did not go out after all: a later try may make it."""
        self.redis.delete(self.keys.reported(what))

    def set_away(
        self, user: str, until: str, ends_at: datetime, delegate: str | None, at: datetime
    ) -> str:
        """`user` is away until the end of day `until` (`ends_at`, UTC); audited."""
        state = {"until": until, "ends_at": ends_at.isoformat(), "delegate": delegate}
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(self.keys.away, user, json.dumps(state))
        reason = f"until {until}" + (f", delegate {delegate}" if delegate else "")
        fields = {"action": "away", "actor": user, "at": at.isoformat(), "reason": reason}
        pipe.xadd(self.keys.audit, fields)
        return _text(pipe.execute()[-1])

    def clear_away(self, user: str, at: datetime) -> bool:
        """`user` is back; False when they were not away. Audited."""
        if not self.redis.hdel(self.keys.away, user):
            return False
        self.redis.xadd(self.keys.audit, {"action": "back", "actor": user, "at": at.isoformat()})
        return True

    def away(self, now: datetime) -> dict[str, dict[str, str | None]]:
        """Who is away at `now`: user -> `{until, ends_at, delegate}` (one round trip)."""
        result = {}
        for user, raw in self.redis.hgetall(self.keys.away).items():
            state = json.loads(raw)
            if datetime.fromisoformat(state["ends_at"]) > now:
                result[_text(user)] = state
        return result

    def absent_for(self, delegate: str, now: datetime) -> tuple[str, ...]:
        """The approvers away at `now` who named `delegate` to decide for them."""
        return delegating_to(self.away(now), delegate)

    # -- reads -------------------------------------------------------------------------------

    def freeze_state(self) -> dict[str, str] | None:
        """Who froze publishing, when, why, and `targets` (JSON; empty: all), or None."""
        state = self.redis.hgetall(self.keys.freeze)
        return {_text(k): _text(v) for k, v in state.items()} or None

    def post_id_for_source(self, source_key: str) -> str | None:
        value = self.redis.get(self.keys.source(source_key))
        return None if value is None else _text(value)

    def messages(self, post_id: str) -> list[tuple[str, str]]:
        members = sorted(_text(m) for m in self.redis.smembers(self.keys.post_messages(post_id)))
        return [tuple(m.split(" ", 1)) for m in members]  # type: ignore[misc]

    def cards_to_refresh(self, post_ids: list[str]) -> None:
        """Posts whose chat messages missed an update because Slack was down."""
        if post_ids:
            self.redis.sadd(self.keys.stale_cards, *post_ids)

    def stale_cards(self) -> list[str]:
        """The posts `cards_to_refresh` named (left in place until `cards_refreshed`, so a
        worker stopping half-way loses none)."""
        return sorted(_text(m) for m in self.redis.smembers(self.keys.stale_cards))

    def cards_refreshed(self, post_ids: list[str]) -> None:
        if post_ids:
            self.redis.srem(self.keys.stale_cards, *post_ids)

    def shown(self, post_ids: list[str]) -> set[str]:
        """Which of the posts some chat message shows (one round trip)."""
        pipe = self.redis.pipeline(transaction=False)
        for post_id in post_ids:
            pipe.exists(self.keys.post_messages(post_id))
        return {post_id for post_id, n in zip(post_ids, pipe.execute(), strict=True) if n}

    def get(self, post_id: str) -> Post | None:
        version, doc = self.redis.hmget(self.keys.post(post_id), "v", "doc")
        return _decode(version, doc)

    def get_many(self, post_ids: list[str]) -> list[Post]:
        """Posts in the order asked; ids whose post expired are skipped."""
        if not post_ids:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for post_id in post_ids:
            pipe.hmget(self.keys.post(post_id), "v", "doc")
        posts = (_decode(v, d) for v, d in pipe.execute())
        return [p for p in posts if p is not None]

    def ids_by_state(self, state: PostState, limit: int = 100) -> list[str]:
        return _ids(self.redis.zrevrange(self.keys.state(state), 0, limit - 1))

    def entered_between(
        self, ranges: list[tuple[PostState, datetime | None]], end: datetime, limit: int
    ) -> dict[PostState, tuple[int, list[str]]]:
        """Per (state, since): how many posts entered the state between `since` (None: ever)
        and `end`, and the ids of the first `limit` of them, oldest first; one round trip."""
        high = repr(end.timestamp())
        pipe = self.redis.pipeline(transaction=False)
        for state, since in ranges:
            low = "-inf" if since is None else repr(since.timestamp())
            pipe.zcount(self.keys.state(state), low, high)
            pipe.zrangebyscore(self.keys.state(state), low, high, 0, limit)
        replies = pipe.execute()
        return {
            state: (replies[2 * i], _ids(replies[2 * i + 1])) for i, (state, _) in enumerate(ranges)
        }

    def due_between(self, start: datetime, end: datetime, limit: int) -> tuple[int, list[str]]:
        """How many posts are due in [start, end], and the first `limit` of them by time."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.zcount(self.keys.due, start.timestamp(), end.timestamp())
        pipe.zrangebyscore(self.keys.due, start.timestamp(), end.timestamp(), 0, limit)
        count, ids = pipe.execute()
        return count, _ids(ids)

    def ids_by_author(self, user: str, limit: int = 100) -> list[str]:
        return _ids(self.redis.zrevrange(self.keys.author(user), 0, limit - 1))

    def ids_waiting_for(self, approvers: list[str], limit: int = 100) -> list[str]:
        """Posts whose active step any of `approvers` (user or group ids) decides, oldest first."""
        _, waiting = self._waiting_for(approvers, limit, None)
        return [post_id for post_id, _ in waiting]

    def waiting_changes(
        self, approvers: list[str], limit: int = 100, unless_last_change: str | None = None
    ) -> tuple[str | None, list[tuple[str, str]] | None]:
        """The workspace's last change, and `ids_waiting_for` with each post's last change,
        without reading the posts (expired ones left out): enough to tell which copies of them
        still hold. A change is the audit id of a transition: time-based and never the same
        twice, even after Redis lost its data (post ids and versions start again then). The
        last change is None when Redis has none (a copy made then must not be kept). None
        instead of the list when the last change is still `unless_last_change`."""
        last, waiting = self._waiting_for(approvers, limit, unless_last_change)
        if last is not None and last == unless_last_change:
            return last, None
        return last, [(post_id, change) for post_id, change in waiting if change is not None]

    def _waiting_for(
        self, approvers: list[str], limit: int, unless_last_change: str | None
    ) -> tuple[str | None, list[tuple[str, str | None]]]:
        """The last change, and (post id, its last change or None when expired) of the posts
        waiting in any of the approvers' sets, each at its oldest wait, ties by id (an empty
        list when the last change is still `unless_last_change`): one round trip (`_WAITING`)."""
        keys = [self.keys.last_change, *(self.keys.waiting(a) for a in approvers)]
        known = unless_last_change or ""
        reply = self._waiting(keys=keys, args=[limit, self.keys.post(""), known])
        pairs = zip(reply[1::2], reply[2::2], strict=True)
        last = None if reply[0] is None else _text(reply[0])
        return last, [(_text(i), None if c is None else _text(c)) for i, c in pairs]

    def ids_due(self, until: datetime, limit: int = 100) -> list[str]:
        return _ids(self.redis.zrangebyscore(self.keys.due, "-inf", until.timestamp(), 0, limit))

    def history(self, post_id: str) -> list[dict[str, str]]:
        """The post's audit trail, oldest first."""
        return [
            {"id": _text(i), **{_text(k): _text(v) for k, v in f.items()}}
            for i, f in self.redis.xrange(self.keys.post_audit(post_id))
        ]

    def trim_audit(self, now: datetime, every_seconds: int = 3600) -> int:
        """Drop workspace audit entries older than the retention time, at most once per
        `every_seconds` whatever the number of workers; returns how many went. (A post's own
        trail goes with the post; this stream only feeds notifications, counters and recent
        activity, which never look back that far.)"""
        if not self.redis.set(self.keys.trimmed, "1", nx=True, ex=every_seconds):
            return 0
        cutoff_ms = int(now.timestamp() * 1000) - self.retention_seconds * 1000
        return int(self.redis.xtrim(self.keys.audit, minid=f"{cutoff_ms}-0"))

    def recent_activity(self, count: int = 20) -> list[dict[str, str]]:
        """The workspace's latest audit entries, newest first."""
        return [
            {"id": _text(i), **{_text(k): _text(v) for k, v in f.items()}}
            for i, f in self.redis.xrevrange(self.keys.audit, count=count)
        ]


def delegating_to(away: Mapping[str, Mapping[str, str | None]], delegate: str) -> tuple[str, ...]:
    """The approvers in `away` (as `Store.away` answers) who named `delegate` to decide for them."""
    return tuple(sorted(u for u, s in away.items() if s.get("delegate") == delegate))


def _index_entries(post: Post, k: Keys) -> dict[str, float]:
    """The sorted sets a post belongs to in its state, with its score in each."""
    entries = {
        k.state(post.state): post.updated_at.timestamp(),
        k.author(post.author): post.created_at.timestamp(),
    }
    if post.state in (PostState.APPROVED, PostState.SCHEDULED):
        entries[k.due] = _due_at(post).timestamp()
    elif post.state == PostState.IN_REVIEW:  # waiting for the active step's deciders
        step, waiting_since = post.current_step, post.waiting_since
        if step is not None and waiting_since is not None:
            run = post.steps[step]
            since = waiting_since.timestamp()
            deciders = [*run.users, *run.usergroups]
            if run.escalated_at is not None and run.nudges is not None:
                deciders += [*run.nudges.escalate_users, *run.nudges.escalate_usergroups]
            for approver in deciders:
                entries[k.waiting(approver)] = since
        nudge = first_nudge_at(post)
        if nudge is not None:
            entries[k.nudges] = nudge.timestamp()
    return entries


def _due_at(post: Post) -> datetime:
    """When a worker should next pick the post up: the earliest pending delivery's retry time,
    else its scheduled time, else now (the time of its last change)."""
    retries = [d.next_attempt_at for d in post.deliveries if d.next_attempt_at]
    if retries:
        return min(retries)
    return post.revision.scheduled_at or post.updated_at


def _commit_result(reply: list[bytes | str]) -> Committed | Duplicate | Conflict | Frozen:
    status = _text(reply[0])
    if status == "ok":
        return Committed(_text(reply[1]))
    if status == "duplicate":
        return Duplicate(_text(reply[1]))
    if status == "frozen":
        return Frozen()
    return Conflict()


def _decode(version: bytes | None, doc: bytes | None) -> Post | None:
    if version is None or doc is None:
        return None
    post = Post.model_validate_json(doc)
    post.version = int(version)
    return post


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _ids(values: list[bytes | str]) -> list[str]:
    return [_text(v) for v in values]
