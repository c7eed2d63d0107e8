"""How the approval process performs: counters per UTC day, fed from the workspace audit log.

Workers read every audit entry once through their own consumer group (`ANALYTICS`); the counts
of an entry are added by the same script that acknowledges it, so a worker that dies half-way
neither loses nor doubles one. Waiting times go into logarithmic buckets (each about 19% wide),
so a day's counters stay a few hundred fields however busy the day, and reading a week costs
seven hashes, whatever the number of posts ever stored.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from workflows.models import Post, StepStatus
from workflows.store import ANALYTICS, Store

#: Days of counters the digest reads ("the last 7 days": today and the six before).
WEEK = 7
#: Each bucket covers waits from BASE**i to BASE**(i+1) seconds.
BASE = 2**0.25
#: States a post reaches when its whole chain approved it (or an admin overrode it).
_APPROVED_STATES = {"approved", "scheduled", "held"}
#: Counters get a separator no step name or Slack id uses in practice.
SEP = "|"

#: The risk categories a revision's text falls into (the digest counts the most frequent).
Categorize = Callable[[Post, int], Iterable[str]]


def ingest(store: Store, categorize: Categorize, consumer: str, count: int = 200) -> int:
    """Count the audit entries no worker has counted yet; returns how many were read."""
    entries = store.unread_audit(consumer, count=count, group=ANALYTICS)
    if not entries:
        return 0
    wanted = sorted({e["post"] for e in entries if "post" in e and _needs_post(e)})
    posts = {post.id: post for post in store.get_many(wanted)}
    store.count_audit(
        [
            (
                entry["id"],
                day_of(datetime.fromisoformat(entry["at"])),
                entry_counts(entry, posts.get(entry.get("post", "")), categorize),
            )
            for entry in entries
        ]
    )
    return len(entries)


def _needs_post(entry: Mapping[str, str]) -> bool:
    """Whether counting the entry reads the post (for its text or its waiting times): not for
    the many publishing entries, so a publishing burst does not decode every post again."""
    approved = entry.get("from") == "in_review" and entry.get("to") in _APPROVED_STATES
    return entry["action"] in ("submit", "revise", "approve") or approved


def day_of(moment: datetime) -> str:
    """The UTC day a moment falls in: counters are kept per UTC day."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d")


def week_days(now: datetime) -> list[str]:
    return [day_of(now - timedelta(days=n)) for n in range(WEEK)]


def _bucket(wait: timedelta) -> int:
    return int(math.log(max(wait.total_seconds(), 1.0), BASE))


def _reason_key(reason: str) -> str:
    """Rejection reasons are free text: count them case- and space-insensitively."""
    return " ".join(reason.lower().split())[:80].rstrip(" .!")


def entry_counts(
    entry: Mapping[str, str], post: Post | None, categorize: Categorize
) -> dict[str, int]:
    """What one audit entry adds to its day's counters. `post` is the post as it is now (None
    when it expired); waiting times are taken from it only while it is still at the entry's
    revision, since a revision replaces the chain."""
    action, to = entry["action"], entry.get("to", "")
    counts: Counter[str] = Counter()
    revision = int(entry.get("revision") or 0)
    if action in ("submit", "revise"):
        counts["submitted" if action == "submit" else "revised"] += 1
        if post is not None and 0 < revision <= len(post.revisions):
            for category in set(categorize(post, revision)):
                counts[f"risk{SEP}{category}"] += 1
    elif action == "reject":
        counts["rejected"] += 1
        if entry.get("reason"):
            counts[f"reason{SEP}{_reason_key(entry['reason'])}"] += 1
    elif action == "request_changes":
        counts["changes_requested"] += 1
    if entry.get("from") == "in_review" and to in _APPROVED_STATES:
        counts["approved"] += 1
        if post is not None:
            at = datetime.fromisoformat(entry["at"])
            counts[f"total{SEP}{_bucket(at - post.created_at)}"] += 1
    if to == "published" and entry.get("from") != "published":
        counts["published"] += 1
    if to in ("failed", "outcome_unknown") and entry.get("from") != to:
        counts["failed"] += 1
    if action == "approve" and post is not None and post.revision.number == revision:
        counts.update(_approval_waits(entry, post))
    return dict(counts)


def _approval_waits(entry: Mapping[str, str], post: Post) -> Counter[str]:
    """Per approver: step start → their approval. Per step: step start → step approved."""
    waits: Counter[str] = Counter()
    index = int(entry.get("step") or -1)
    if not 0 <= index < len(post.steps):
        return waits
    run = post.steps[index]
    if run.started_at is None:
        return waits
    at = datetime.fromisoformat(entry["at"])
    waits[f"approver{SEP}{entry['actor']}{SEP}{_bucket(at - run.started_at)}"] += 1
    if run.status == StepStatus.APPROVED and run.decided_at == at:
        waits[f"step{SEP}{run.name}{SEP}{_bucket(at - run.started_at)}"] += 1
    return waits


@dataclass(frozen=True)
class Waits:
    """Median and 90th percentile of a set of waits (to about ±10%)."""

    count: int
    median: timedelta
    p90: timedelta


def _waits(buckets: Mapping[int, int]) -> Waits | None:
    total = sum(buckets.values())
    if not total:
        return None

    def percentile(q: float) -> timedelta:
        seen = 0
        for index in sorted(buckets):
            seen += buckets[index]
            if seen >= q * total:
                return timedelta(seconds=round(BASE ** (index + 0.5)))
        raise AssertionError("unreachable: the counts sum to total")

    return Waits(total, percentile(0.5), percentile(0.9))


@dataclass(frozen=True)
class WeekNumbers:
    """The digest's numbers over the last `WEEK` days."""

    submitted: int = 0
    approved: int = 0
    rejected: int = 0
    changes_requested: int = 0
    published: int = 0
    failed: int = 0
    to_approval: Waits | None = None
    by_step: dict[str, Waits] = field(default_factory=dict)
    by_approver: dict[str, Waits] = field(default_factory=dict)
    top_reasons: list[tuple[str, int]] = field(default_factory=list)
    top_risks: list[tuple[str, int]] = field(default_factory=list)


def summarize(days: Sequence[Mapping[str, int]], top: int = 3) -> WeekNumbers:
    """Fold daily counters into the week's numbers."""
    plain: Counter[str] = Counter()
    total: Counter[int] = Counter()
    steps: dict[str, Counter[int]] = {}
    approvers: dict[str, Counter[int]] = {}
    reasons: Counter[str] = Counter()
    risks: Counter[str] = Counter()
    for day in days:
        for name, count in day.items():
            kind, _, rest = name.partition(SEP)
            if kind == "total":
                total[int(rest)] += count
            elif kind in ("step", "approver"):
                who, _, index = rest.rpartition(SEP)
                group = steps if kind == "step" else approvers
                group.setdefault(who, Counter())[int(index)] += count
            elif kind == "reason":
                reasons[rest] += count
            elif kind == "risk":
                risks[rest] += count
            else:
                plain[kind] += count
    return WeekNumbers(
        submitted=plain["submitted"],
        approved=plain["approved"],
        rejected=plain["rejected"],
        changes_requested=plain["changes_requested"],
        published=plain["published"],
        failed=plain["failed"],
        to_approval=_waits(total),
        by_step={name: w for name, b in sorted(steps.items()) if (w := _waits(b))},
        by_approver={name: w for name, b in sorted(approvers.items()) if (w := _waits(b))},
        top_reasons=reasons.most_common(top),
        top_risks=risks.most_common(top),
    )
