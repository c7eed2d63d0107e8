"""The daily digest's domain: when each digest is due (across DST changes), its week of numbers
from the audit log (counted exactly once), and what it shows, read from indexes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import keyword_risk
from workflows import analytics
from workflows.analytics import summarize, week_days
from workflows.commands import Approve, Reject, RequestChanges, Submit
from workflows.configfile import ConfigError, parse_workflow_file
from workflows.digest import build_digest, due_occurrence
from workflows.directory import StaticDirectory
from workflows.engine import Engine
from workflows.publishing import PermanentFailure, Publication, Published
from workflows.scheduler import Dispatcher

CONFIG = """
timezone: Europe/Rome
admins: [U0ADMIN]
approvals_channel: C0APPROVALS
targets:
  site: {type: slack, channel: C0SITE}
  blog: {type: slack, channel: C0BLOG}
blackouts:
  - {from: "2026-03-03T00:00:00+01:00", to: "2026-03-04T00:00:00+01:00", reason: Day of mourning}
  - {from: "2026-05-01T00:00:00+01:00", to: "2026-05-02T00:00:00+01:00", reason: Far away}
workflows:
  - name: blog
    match: {targets: [blog]}
    targets: [blog]
    steps:
      - {name: Editor, approvers: {users: [U0ED]}}
  - name: standard
    targets: [site]
    steps:
      - {name: Copy review, approvers: {users: [U0ANNA, U0LUCA]}}
      - {name: Brand, approvers: {users: [U0BRAND, U0BRAND2]}, quorum: all}
digest:
  - {channel: C0SOCIAL, at: "09:00"}
  - {channel: C0US, at: "09:00", timezone: America/New_York, weekdays: [mon, tue, wed, thu, fri]}
"""


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def config():
    return parse_workflow_file(CONFIG, "digest.yaml")


@pytest.fixture
def engine(client, team, config, clock) -> Engine:
    return Engine(client, team, config, StaticDirectory(), keyword_risk, clock)


def test_nine_oclock_follows_daylight_saving_in_rome_and_new_york(config):
    rome, new_york = config.digest

    def due(digest, now):
        occurrence = due_occurrence(config, digest, now)
        return occurrence and (occurrence.date, occurrence.at)

    # Rome: 09:00 is 08:00 UTC in CET, 07:00 UTC from 29 March (CEST), 08:00 again from 25 Oct.
    assert due(rome, utc(2026, 3, 28, 7, 59)) is None  # yesterday's is past its 6 h grace
    assert due(rome, utc(2026, 3, 28, 8, 0)) == ("2026-03-28", utc(2026, 3, 28, 8))
    assert due(rome, utc(2026, 3, 29, 7, 0)) == ("2026-03-29", utc(2026, 3, 29, 7))
    assert due(rome, utc(2026, 3, 29, 13, 0)) == ("2026-03-29", utc(2026, 3, 29, 7))
    assert due(rome, utc(2026, 3, 29, 13, 1)) is None  # more than 6 h late: skipped
    assert due(rome, utc(2026, 10, 25, 7, 30)) is None
    assert due(rome, utc(2026, 10, 25, 8, 0)) == ("2026-10-25", utc(2026, 10, 25, 8))
    # New York: EST (14:00 UTC) until 8 March, EDT (13:00 UTC) after; weekdays only.
    assert due(new_york, utc(2026, 3, 6, 14, 0)) == ("2026-03-06", utc(2026, 3, 6, 14))
    assert due(new_york, utc(2026, 3, 7, 14, 0)) is None  # Saturday
    assert due(new_york, utc(2026, 3, 9, 13, 0)) == ("2026-03-09", utc(2026, 3, 9, 13))
    assert due(new_york, utc(2026, 3, 9, 12, 59)) is None


def test_digest_settings_are_checked_with_their_key_paths():
    bad = CONFIG.replace('at: "09:00", timezone', 'at: "9 am", timezone').replace(
        "[mon, tue", "[monday, someday, tue"
    )
    with pytest.raises(ConfigError) as error:
        parse_workflow_file(bad + "  - {channel: C0X, at: '10:00', grace: soon}\n", "d.yaml")
    message = str(error.value)
    assert "digest[1].at" in message and "time of day" in message
    assert "digest[1].weekdays[1]" in message and "someday" in message
    assert "digest[2].grace" in message and "duration" in message
    with pytest.raises(ConfigError) as error:  # was a TypeError before it was checked
        parse_workflow_file(CONFIG.replace("timezone: America/New_York", "timezone: 5"), "d.yaml")
    assert "digest[1].timezone" in str(error.value)
    single = parse_workflow_file(
        CONFIG.split("digest:")[0] + 'digest: {channel: C0ONE, at: "08:30"}\n', "d.yaml"
    )
    assert [d.channel for d in single.digest] == ["C0ONE"]


def run_week(engine: Engine, clock) -> dict[str, str]:
    """A small week: one post approved through both steps, one rejected, one sent back."""
    ids = {}
    for name in ("approved", "rejected", "sent back"):
        ids[name] = engine.execute(Submit("U0AUTHOR", f"Post to be {name}")).post.id
    clock.advance(minutes=30)
    engine.execute(Approve("U0ANNA", ids["approved"], 1, 0))
    engine.execute(Reject("U0LUCA", ids["rejected"], 1, 0, "Off brand."))
    engine.execute(RequestChanges("U0ANNA", ids["sent back"], 1, 0, "Fix the date"))
    clock.advance(hours=1)
    engine.execute(Approve("U0BRAND", ids["approved"], 1, 1))
    clock.advance(hours=1)
    engine.execute(Approve("U0BRAND2", ids["approved"], 1, 1))
    return ids


def near(value: timedelta, expected: timedelta) -> bool:
    """Waits are kept in buckets about 19% wide."""
    return abs(value - expected) <= expected * 0.2


def test_the_weeks_numbers_come_from_the_audit_log(engine, clock):
    run_week(engine, clock)
    engine.execute(Submit("U0AUTHOR", "damn good coffee"))
    swearing = {"damn"}

    def categorize(post, revision):
        words = set(post.revisions[revision - 1].text.split())
        return ["profanity"] if words & swearing else []

    assert analytics.ingest(engine.store, categorize, "worker-1") == 9  # audit entries
    assert analytics.ingest(engine.store, categorize, "worker-2") == 0  # each entry once
    week = summarize(engine.store.day_counts(week_days(clock())))
    assert (week.submitted, week.approved, week.rejected, week.changes_requested) == (4, 1, 1, 1)
    assert near(week.to_approval.median, timedelta(hours=2, minutes=30))
    assert near(week.by_step["Copy review"].median, timedelta(minutes=30))
    assert near(week.by_step["Brand"].median, timedelta(hours=2))
    assert near(week.by_approver["U0BRAND"].median, timedelta(hours=1))
    assert near(week.by_approver["U0BRAND2"].median, timedelta(hours=2))
    assert week.top_reasons == [("off brand", 1)]
    assert week.top_risks == [("profanity", 1)]
    clock.advance(days=7)
    assert summarize(engine.store.day_counts(week_days(clock()))).submitted == 0


def test_an_entry_is_counted_once_even_when_two_workers_handle_it(engine, clock):
    engine.execute(Submit("U0AUTHOR", "Hello"))
    store = engine.store
    (entry,) = store.unread_audit("died-mid-way", group=analytics.ANALYTICS)
    counted = [(entry["id"], analytics.day_of(clock()), {"submitted": 1})]
    store.count_audit(counted)
    store.count_audit(counted)  # a second worker reclaimed it: acknowledged already, adds nothing
    assert store.day_counts([analytics.day_of(clock())]) == [{"submitted": 1}]


class Target:
    """Stands in for a social network that takes everything, or refuses everything."""

    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse

    def publish(self, publication: Publication) -> Published:
        if self.refuse:
            raise PermanentFailure("account suspended")
        return Published("1", f"https://example.test/{publication.post_id}")


def test_the_digest_shows_each_section_from_indexes(engine, clock, config):
    store = engine.store
    dispatcher = Dispatcher(store, config, {"site": Target(), "blog": Target(True)}, clock)
    ids = run_week(engine, clock)  # now 2026-03-01 11:30 UTC
    last_digest = clock()
    published = engine.execute(Submit("U0AUTHOR", "Goes out now", targets=("site",))).post.id
    failing = engine.execute(Submit("U0AUTHOR", "Blog post", targets=("blog",))).post.id
    later = engine.execute(
        Submit("U0AUTHOR", "Tomorrow morning", scheduled_at=clock() + timedelta(hours=20))
    ).post.id
    next_week = engine.execute(
        Submit("U0AUTHOR", "Next week", scheduled_at=clock() + timedelta(days=6))
    ).post.id
    for post_id in (published, later, next_week):
        engine.execute(Approve("U0ANNA", post_id, 1, 0))
        engine.execute(Approve("U0BRAND", post_id, 1, 1))
        engine.execute(Approve("U0BRAND2", post_id, 1, 1))
    engine.execute(Approve("U0ED", failing, 1, 0))
    waiting = []
    for n in range(12):
        clock.advance(minutes=1)
        waiting.append(engine.execute(Submit("U0AUTHOR", f"Waiting {n}")).post.id)
    clock.advance(minutes=5)
    dispatcher.run_due()
    clock.advance(hours=25)
    analytics.ingest(store, lambda post, revision: [], "worker")

    data = build_digest(store, config, clock(), since=last_digest, due_at=clock())
    assert [p.id for p in data.waiting.posts] == waiting[:10] and data.waiting.total == 12
    assert data.waiting.hidden == 2
    assert [p.id for p in data.scheduled.posts] == [] and data.scheduled.total == 0
    assert {p.id for p in data.published.posts} == {published, ids["approved"]}
    assert [p.id for p in data.needs_human.posts] == [failing]
    assert data.rejected.posts == [] and data.changes_requested.posts == []  # before `since`
    assert [b.reason for b in data.blackouts] == ["Day of mourning"]
    assert data.numbers.submitted == 19 and data.numbers.published == 2
    assert data.numbers.failed == 1 and not data.late

    earlier = build_digest(store, config, last_digest - timedelta(hours=2, minutes=1))
    assert {p.id for p in earlier.rejected.posts} == set()  # nothing was rejected before it
    whole_day = build_digest(store, config, clock() - timedelta(hours=6), since=utc(2026, 3, 1))
    assert [p.id for p in whole_day.rejected.posts] == [ids["rejected"]]
    assert [p.id for p in whole_day.changes_requested.posts] == [ids["sent back"]]
    assert [p.id for p in whole_day.scheduled.posts] == [later]
    assert whole_day.freeze is None


def test_a_workspace_from_before_analytics_has_its_history_counted(engine, clock, client):
    engine.execute(Submit("U0AUTHOR", "Hello"))
    client.xgroup_destroy(engine.store.keys.audit, analytics.ANALYTICS)
    assert analytics.ingest(engine.store, lambda post, revision: [], "worker") == 1
    assert summarize(engine.store.day_counts(week_days(clock()))).submitted == 1


def test_the_workspace_audit_stream_keeps_the_retention_time_only(engine, client):
    for n in range(3):
        engine.execute(Submit("U0AUTHOR", f"Post {n}"))
    store, now = engine.store, datetime.now(UTC)  # stream ids are the Redis server's time
    assert store.trim_audit(now) == 0  # nothing is older than 90 days
    client.delete(store.keys.trimmed)
    assert store.trim_audit(now + timedelta(days=91)) == 3
    assert store.recent_activity() == []
    engine.execute(Submit("U0AUTHOR", "Later"))
    assert store.trim_audit(now + timedelta(days=91)) == 0  # once an hour at most
    assert len(store.recent_activity()) == 1
