"""The daily digest: when each configured digest is due, and what it shows.

Everything a digest shows is read from indexes (posts by state and by the time they entered it,
posts by due time, the day counters of `workflows.analytics`), a bounded number of posts per
section: building one costs in proportion to what it shows, not to the posts ever stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from workflows.analytics import WeekNumbers, summarize, week_days
from workflows.config import WEEKDAYS, Blackout, Digest, WorkflowFile
from workflows.models import Post, PostState
from workflows.store import Store
from workflows.timing import local_moment

#: Posts listed per section; the rest are counted and linked.
SHOWN = 10
#: A digest sent this long after its time says it is late.
LATE_AFTER = timedelta(minutes=10)
#: How far ahead the digest looks for posts going out, and for blackout windows.
SCHEDULED_AHEAD = timedelta(hours=24)
BLACKOUTS_AHEAD = timedelta(days=7)
#: "Since the last digest" when there was none.
FIRST_LOOKBACK = timedelta(hours=24)


@dataclass(frozen=True)
class Occurrence:
    """One day's send of a digest: its local date and the UTC moment it is due."""

    digest: Digest
    date: str
    at: datetime


def due_occurrence(config: WorkflowFile, digest: Digest, now: datetime) -> Occurrence | None:
    """The send that should happen now: the latest scheduled time not after `now`, on one of
    the digest's weekdays, at most `grace` ago. None when nothing is due (a send older than
    the grace is skipped: a digest about yesterday is noise)."""
    zone = config.digest_zone(digest)
    today = now.astimezone(zone).date()
    for back in range(8):
        day = today - timedelta(days=back)
        if WEEKDAYS[day.weekday()] not in digest.weekdays:
            continue
        moment = local_moment(day, digest.at, zone)
        if moment > now:
            continue
        if now - moment > digest.grace:
            return None
        return Occurrence(digest, day.isoformat(), moment.astimezone(UTC))
    return None


@dataclass(frozen=True)
class Section:
    """The first posts of a list (oldest first) and how many the whole list holds."""

    posts: list[Post]
    total: int

    @property
    def hidden(self) -> int:
        return self.total - len(self.posts)


@dataclass(frozen=True)
class DigestData:
    now: datetime
    since: datetime
    due_at: datetime | None  # the scheduled time of this send; None when asked for now
    waiting: Section  # in review, the longest-waiting first
    scheduled: Section  # going out in the next 24 hours
    published: Section  # since the last digest
    needs_human: Section  # failed, outcome unknown or held: a person must act
    rejected: Section  # since the last digest
    changes_requested: Section  # since the last digest, waiting for their authors
    freeze: dict[str, str] | None
    blackouts: list[Blackout]
    numbers: WeekNumbers

    @property
    def late(self) -> bool:
        return self.due_at is not None and self.now - self.due_at > LATE_AFTER


def build_digest(
    store: Store,
    config: WorkflowFile,
    now: datetime,
    since: datetime | None = None,
    due_at: datetime | None = None,
    shown: int = SHOWN,
) -> DigestData:
    """What a digest shows at `now`, covering what happened after `since`."""
    since = since or now - FIRST_LOOKBACK
    ranges: list[tuple[PostState, datetime | None]] = [
        (PostState.IN_REVIEW, None),
        (PostState.PUBLISHED, since),
        (PostState.REJECTED, since),
        (PostState.DRAFT, since),
        (PostState.FAILED, None),
        (PostState.OUTCOME_UNKNOWN, None),
        (PostState.HELD, None),
    ]
    found = store.entered_between(ranges, now, shown)
    due_count, due_ids = store.due_between(now, now + SCHEDULED_AHEAD, shown)
    human_states = (PostState.FAILED, PostState.OUTCOME_UNKNOWN, PostState.HELD)
    human_ids = [i for s in human_states for i in found[s][1]][:shown]
    listed = (PostState.IN_REVIEW, PostState.PUBLISHED, PostState.REJECTED, PostState.DRAFT)
    wanted = [i for s in listed for i in found[s][1]] + human_ids + due_ids
    posts = {p.id: p for p in store.get_many(list(dict.fromkeys(wanted)))}

    def section(ids: list[str], total: int) -> Section:
        return Section([posts[i] for i in ids if i in posts], total)

    waiting = section(found[PostState.IN_REVIEW][1], found[PostState.IN_REVIEW][0])
    waiting.posts.sort(key=lambda p: p.waiting_since or p.updated_at)
    return DigestData(
        now=now,
        since=since,
        due_at=due_at,
        waiting=waiting,
        scheduled=section(due_ids, due_count),
        published=section(*_flip(found[PostState.PUBLISHED])),
        needs_human=section(human_ids, sum(found[s][0] for s in human_states)),
        rejected=section(*_flip(found[PostState.REJECTED])),
        changes_requested=section(*_flip(found[PostState.DRAFT])),
        freeze=store.freeze_state(),
        blackouts=[b for b in config.blackouts if b.end > now and b.start < now + BLACKOUTS_AHEAD],
        numbers=summarize(store.day_counts(week_days(now))),
    )


def _flip(found: tuple[int, list[str]]) -> tuple[list[str], int]:
    return found[1], found[0]
